"""What the speech task offers: plain data, read without importing torch or torchaudio."""

from zoo.registry import DatasetEntry, ModelEntry, make_task

_TORCHAUDIO = "https://github.com/pytorch/audio"
_KWS_INPUT = "1 s waveform at 16 kHz (the data's rate); {}"
_CTC_INPUT = "waveforms and lengths at 16 kHz (the data's rate); {}"

# Models trained with CTC on transcripts; every other model classifies keyword clips.
TRANSCRIPTION_MODELS = ("crnn_ctc", "conformer_ctc", "wav2vec2_ctc")

TASK = make_task(
    "speech",
    description="Keyword spotting (accuracy, macro F1) and CTC speech-to-text (CER, WER) from waveforms.",
    implementation="zoo.speech.task:SpeechTask",
    export="zoo.speech.export:export_spec",
    default_model="temporal_cnn",
    default_dataset="keywords",
    metrics=("accuracy", "f1_macro", "cer", "wer", "loss"),
    models=[
        ModelEntry(
            name="temporal_cnn",
            builder="zoo.speech.models:temporal_cnn",
            description="Keyword spotting: four 1-D conv layers over 40 log-mel bands, averaged: the fast baseline.",
            params=69_516,
            input=_KWS_INPUT.format("40 log-mels in the model"),
            default_dataset="keywords",
            recipe="speech/temporal_cnn_keywords",
            license="Apache-2.0",
            source="zoo",
        ),
        ModelEntry(
            name="res8",
            builder="zoo.speech.models:res8",
            description="Keyword spotting: res8 (Tang & Lin, 2018), pooled residual CNN of 45 maps on MFCCs.",
            params=110_307,
            input=_KWS_INPUT.format("40 MFCCs in the model"),
            default_dataset="keywords",
            recipe="speech/res8_keywords",
            license="Apache-2.0",
            source="zoo (after https://github.com/castorini/honk)",
        ),
        ModelEntry(
            name="res15",
            builder="zoo.speech.models:res15",
            description="Keyword spotting: res15 (Tang & Lin, 2018), 13 dilated residual layers at full resolution.",
            params=237_882,
            input=_KWS_INPUT.format("40 MFCCs in the model"),
            default_dataset="speech_commands",
            recipe="speech/res15_speech_commands",
            license="Apache-2.0",
            source="zoo (after https://github.com/castorini/honk)",
        ),
        ModelEntry(
            name="waveform_cnn",
            builder="zoo.speech.models:waveform_cnn",
            description="Keyword spotting on raw samples: an M5-style 1-D CNN (Dai et al., 2017), no spectrogram.",
            params=38_412,
            input=_KWS_INPUT.format("raw samples"),
            default_dataset="keywords",
            recipe="speech/waveform_cnn_keywords",
            license="Apache-2.0",
            source="zoo",
        ),
        ModelEntry(
            name="crnn_ctc",
            builder="zoo.speech.models:crnn_ctc",
            description="Speech-to-text: conv subsampling and a bidirectional GRU on log-mels, CTC over characters.",
            params=608_021,
            input=_CTC_INPUT.format("log-mels in the model"),
            default_dataset="utterances",
            recipe="speech/crnn_ctc_utterances",
            license="Apache-2.0",
            source="zoo",
        ),
        ModelEntry(
            name="conformer_ctc",
            builder="zoo.speech.models:conformer_ctc",
            description="Speech-to-text: torchaudio's Conformer encoder, built small, CTC over characters.",
            params=568_341,
            input=_CTC_INPUT.format("log-mels in the model"),
            default_dataset="utterances",
            recipe="speech/conformer_ctc_utterances",
            license="BSD-2-Clause (torchaudio)",
            source=_TORCHAUDIO,
        ),
        ModelEntry(
            name="wav2vec2_ctc",
            builder="zoo.speech.models:wav2vec2_ctc",
            description="Speech-to-text: wav2vec 2.0 from torchaudio's factory, built small; CTC over characters. "
            "At full size it takes the weights of torchaudio's wav2vec 2.0 ASR pipelines.",
            params=468_181,
            input=_CTC_INPUT.format("raw samples"),
            default_dataset="utterances",
            recipe="speech/wav2vec2_ctc_utterances",
            license="BSD-2-Clause (torchaudio)",
            source=_TORCHAUDIO,
        ),
    ],
    datasets=[
        DatasetEntry(
            name="keywords",
            loader="zoo.speech.embedded:keywords",
            description="Embedded: generated 1 s clips of 10 commands, unknown words and silence; many synthetic "
            "speakers over background noise (Speech Commands' 12-class setup).",
            num_classes=12,
            embedded=True,
            license="Apache-2.0",
            source="zoo (generated in code)",
        ),
        DatasetEntry(
            name="utterances",
            loader="zoo.speech.embedded:utterances",
            description="Embedded: generated utterances of 2-4 commands and digits with pauses, and their transcripts.",
            embedded=True,
            license="Apache-2.0",
            source="zoo (generated in code)",
        ),
        DatasetEntry(
            name="speech_commands",
            loader="zoo.speech.datasets:speech_commands",
            description="Speech Commands v1/v2 (Warden, 2018): 1 s words; 12-class setup or all 30/35 words.",
            splits=("train", "val", "test"),
            num_classes=12,
            license="CC BY 4.0",
            source="https://www.tensorflow.org/datasets/catalog/speech_commands",
        ),
        DatasetEntry(
            name="librispeech",
            loader="zoo.speech.datasets:librispeech",
            description="LibriSpeech (Panayotov et al., 2015): read English audiobooks, FLAC with transcripts.",
            splits=("train", "val", "test"),
            license="CC BY 4.0",
            source="https://www.openslr.org/12",
        ),
        DatasetEntry(
            name="audio_folder",
            loader="zoo.speech.folders:audio_folder",
            description="Your own keyword recordings, labelled by subfolder or by a pattern in the file name.",
            license="yours",
            source="local files",
        ),
        DatasetEntry(
            name="manifest",
            loader="zoo.speech.datasets:manifest",
            description="Your own transcribed audio: a CSV/TSV/JSONL manifest of path,text rows.",
            license="yours",
            source="local files",
        ),
    ],
)
