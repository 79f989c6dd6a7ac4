"""What the recommendation task offers: plain data, read without importing torch."""

from zoo.registry import DatasetEntry, ModelEntry, ProblemEntry, make_task

_GROUPLENS = "https://grouplens.org/datasets/movielens/"
_ML_LICENSE = "GroupLens research licence (non-commercial; cite Harper & Konstan, 2015)"
_INPUT = "user and item ids (contiguous indices; raw ids mapped by the task)"

TASK = make_task(
    "recommendation",
    description="Recommendation: top-K ranking from implicit feedback (HR, NDCG, Recall, MRR) or rating "
    "prediction (RMSE, MAE), with a popularity baseline beside every evaluation.",
    problems=[
        ProblemEntry(
            name="ranking",
            description="Top-K ranking from implicit feedback (HR, NDCG, Recall, MRR), popularity beside it.",
            implementation="zoo.recommendation.task:Ranking",
            export="zoo.recommendation.export:export_spec",
            default_model="mf",
            default_dataset="synthetic",
            metrics=("ndcg@10", "hr@10", "recall@10", "mrr", "pop_ndcg@10", "pop_hr@10", "loss"),
        ),
        ProblemEntry(
            name="rating",
            description="Rating prediction from explicit ratings (RMSE, MAE), item means beside it.",
            implementation="zoo.recommendation.task:RatingPrediction",
            export="zoo.recommendation.export:export_spec",
            default_model="mf_rating",
            default_dataset="synthetic",
            metrics=("rmse", "mae", "loss"),
        ),
    ],
    models=[
        ModelEntry(
            name="popularity",
            problem="ranking",
            builder="zoo.recommendation.models:popularity",
            description="Item popularity from training counts (and mean ratings): the baseline every paper reports.",
            input=_INPUT,
            default_dataset="synthetic",
            recipe="recommendation/popularity_synthetic",
            license="Apache-2.0",
            source="zoo",
        ),
        ModelEntry(
            name="mf",
            problem="ranking",
            builder="zoo.recommendation.models:mf",
            description="Biased matrix factorisation (Koren et al., 2009) ranking items with BPR.",
            input=_INPUT,
            default_dataset="synthetic",
            recipe="recommendation/mf_synthetic",
            license="Apache-2.0",
            source="zoo",
        ),
        ModelEntry(
            name="mf_rating",
            problem="rating",
            builder="zoo.recommendation.models:mf",
            description="Biased matrix factorisation trained on explicit ratings with MSE (RMSE, MAE).",
            input=_INPUT,
            default_dataset="synthetic",
            recipe="recommendation/mf_rating_synthetic",
            license="Apache-2.0",
            source="zoo",
        ),
        ModelEntry(
            name="neumf",
            problem="ranking",
            builder="zoo.recommendation.models:neumf",
            description="NeuMF (He et al., 2017): generalised MF and an MLP over separate embeddings, fused.",
            input=_INPUT,
            default_dataset="synthetic",
            recipe="recommendation/neumf_synthetic",
            license="Apache-2.0",
            source="zoo",
        ),
        ModelEntry(
            name="two_tower",
            problem="ranking",
            builder="zoo.recommendation.models:two_tower",
            description="Two-tower retrieval (Yi et al., 2019): user and item towers over ids and side features, "
            "in-batch softmax with log-Q correction.",
            input=_INPUT + " and their side features",
            default_dataset="synthetic",
            recipe="recommendation/two_tower_synthetic",
            license="Apache-2.0",
            source="zoo",
        ),
        ModelEntry(
            name="dlrm",
            problem="ranking",
            builder="zoo.recommendation.models:dlrm",
            description="DLRM (Naumov et al., 2019): bottom MLP on dense features, embedding bags for sparse ones, "
            "pairwise dot interactions, top MLP.",
            input=_INPUT + ", dense and sparse side features",
            default_dataset="synthetic",
            recipe="recommendation/dlrm_synthetic",
            license="Apache-2.0",
            source="https://github.com/facebookresearch/dlrm",
        ),
    ],
    datasets=[
        DatasetEntry(
            name="synthetic",
            problems=("ranking", "rating"),
            loader="zoo.recommendation.synthetic:synthetic",
            description="Embedded: a generated log from a latent-factor model with popularity and activity skew, "
            "timestamps, ratings and side features (2,000 users, 1,000 items, about 59,000 interactions).",
            embedded=True,
            license="Apache-2.0",
            source="zoo (generated in code)",
        ),
        DatasetEntry(
            name="ml100k",
            problems=("ranking", "rating"),
            loader="zoo.recommendation.movielens:ml100k",
            description="MovieLens 100K: 100,000 ratings by 943 users of 1,682 movies (u.data, u.item, u.user).",
            license=_ML_LICENSE,
            source=_GROUPLENS,
        ),
        DatasetEntry(
            name="ml1m",
            problems=("ranking", "rating"),
            loader="zoo.recommendation.movielens:ml1m",
            description="MovieLens 1M: 1,000,209 ratings by 6,040 users of 3,706 movies (ratings.dat, movies.dat).",
            license=_ML_LICENSE,
            source=_GROUPLENS,
        ),
        DatasetEntry(
            name="ml_latest_small",
            problems=("ranking", "rating"),
            loader="zoo.recommendation.movielens:ml_latest_small",
            description="MovieLens latest-small: about 100,000 ratings by 610 users (ratings.csv, movies.csv).",
            license=_ML_LICENSE,
            source=_GROUPLENS,
        ),
        DatasetEntry(
            name="ml25m",
            problems=("ranking", "rating"),
            loader="zoo.recommendation.movielens:ml25m",
            description="MovieLens 25M: 25 million ratings by 162,541 users of 59,047 movies "
            "(ratings.csv, movies.csv).",
            license=_ML_LICENSE,
            source=_GROUPLENS,
        ),
        DatasetEntry(
            name="interactions",
            problems=("ranking", "rating"),
            loader="zoo.recommendation.generic:interactions",
            description="Your own log: a CSV, TSV or Parquet file of user, item, optional rating and timestamp "
            "columns (names set in data.args).",
            license="yours",
            source="local files",
        ),
    ],
)
