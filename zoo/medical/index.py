"""What the medical task offers: plain data, read without importing torch."""

from zoo.registry import DatasetEntry, ModelEntry, ProblemEntry, make_task

_TORCHVISION = "https://github.com/pytorch/vision"
_MEDMNIST = "https://medmnist.com (Yang et al., 2023)"

def _medmnist(name: str, title: str, description: str, num_classes: int, license: str = "CC BY 4.0") -> DatasetEntry:
    return DatasetEntry(
        name=name,
        loader=f"zoo.medical.medmnist:{name}",
        description=f"{title} (MedMNIST v2, upstream .npz; sizes 28, 64, 128, 224): {description}",
        splits=("train", "val", "test"),
        num_classes=num_classes,
        license=license,
        source=_MEDMNIST,
        problems=("classification",),
    )


TASK = make_task(
    "medical",
    description="Medical imaging: diagnosis (AUROC, accuracy) and lesion/organ segmentation (Dice, IoU), 2D and 3D.",
    problems=[
        ProblemEntry(
            name="classification",
            description="Diagnosis: single- or multi-label classification of scans (AUROC, accuracy).",
            implementation="zoo.medical.task:Diagnosis",
            export="zoo.medical.export:export_spec",
            default_model="resnet18",
            default_dataset="phantom",
            metrics=("auroc", "accuracy", "loss"),
        ),
        ProblemEntry(
            name="segmentation",
            description="Lesion and organ segmentation, 2D and 3D (Dice, IoU), sliding-window inference.",
            implementation="zoo.medical.task:LesionSegmentation",
            export="zoo.medical.export:export_spec",
            default_model="unet",
            default_dataset="phantom",
            metrics=("dice", "iou", "loss"),
        ),
    ],
    models=[
        ModelEntry(
            name="resnet18",
            problem="classification",
            builder="zoo.medical.models:resnet18",
            description="ResNet-18 diagnosis classifier, stem for the scan's channels (ImageNet or 3x3 stride 1).",
            input="scan 1xHxW float (or RGB), normalised",
            default_dataset="phantom",
            recipe="medical/resnet18_phantom",
            license="BSD-3-Clause",
            source=_TORCHVISION,
        ),
        ModelEntry(
            name="resnet50",
            problem="classification",
            builder="zoo.medical.models:resnet50",
            description="ResNet-50 diagnosis classifier with a stem for the scan's channels.",
            input="scan 1xHxW float (or RGB), normalised",
            default_dataset="bloodmnist",
            recipe="medical/resnet50_bloodmnist",
            license="BSD-3-Clause",
            source=_TORCHVISION,
        ),
        ModelEntry(
            name="densenet121",
            problem="classification",
            builder="zoo.medical.models:densenet121",
            description="DenseNet-121 (the CheXNet backbone) for single- or multi-label diagnosis.",
            input="scan 1xHxW float (or RGB), normalised",
            default_dataset="chestmnist",
            recipe="medical/densenet121_chestmnist",
            license="BSD-3-Clause",
            source=_TORCHVISION,
        ),
        ModelEntry(
            name="unet",
            problem="segmentation",
            builder="zoo.medical.models:unet",
            description="U-Net (Ronneberger et al., 2015), 2D or 3D, Dice + cross-entropy, sliding-window inference.",
            input="scan 1xHxW (or 1xDxHxW) float; any size, windows of the training patch",
            default_dataset="phantom",
            recipe="medical/unet_phantom",
            license="Apache-2.0",
            source="zoo",
        ),
        ModelEntry(
            name="monai_unet",
            problem="segmentation",
            builder="zoo.medical.models:monai_unet",
            description="MONAI's residual U-Net (needs pip install -e \".[medical]\").",
            input="scan 1xHxW (or 1xDxHxW) float; any size, windows of the training patch",
            default_dataset="phantom",
            recipe="medical/monai_unet_phantom",
            license="Apache-2.0",
            source="https://github.com/Project-MONAI/MONAI",
        ),
    ],
    datasets=[
        DatasetEntry(
            name="phantom",
            problems=("classification", "segmentation"),
            loader="zoo.medical.phantoms:phantom",
            description="Embedded: generated scans with organs and cyst/tumour lesions; labels and organ/lesion masks.",
            splits=("train", "val", "test"),
            num_classes=3,
            embedded=True,
            license="Apache-2.0",
            source="zoo (generated in code)",
        ),
        _medmnist("pneumoniamnist", "PneumoniaMNIST", "paediatric chest X-rays, pneumonia vs normal", 2),
        _medmnist("chestmnist", "ChestMNIST", "NIH ChestX-ray14, 14 findings, multi-label", 14),
        _medmnist("bloodmnist", "BloodMNIST", "blood cell microscopy (RGB), 8 cell types", 8),
        _medmnist("pathmnist", "PathMNIST", "colon pathology (RGB), 9 tissue types", 9),
        _medmnist("organamnist", "OrganAMNIST", "abdominal CT, axial, 11 organs", 11),
        _medmnist("organcmnist", "OrganCMNIST", "abdominal CT, coronal, 11 organs", 11),
        _medmnist("organsmnist", "OrganSMNIST", "abdominal CT, sagittal, 11 organs", 11),
        _medmnist("dermamnist", "DermaMNIST", "dermatoscopy (RGB), 7 lesion types", 7, "CC BY-NC 4.0"),
        _medmnist("octmnist", "OCTMNIST", "retinal OCT, 4 diagnoses", 4),
        _medmnist("retinamnist", "RetinaMNIST", "fundus (RGB), 5 retinopathy grades, as classes", 5),
        _medmnist("breastmnist", "BreastMNIST", "breast ultrasound, malignant vs normal/benign", 2),
        _medmnist("tissuemnist", "TissueMNIST", "kidney cortex microscopy, 8 cell types", 8),
        DatasetEntry(
            name="image_csv",
            problems=("classification",),
            loader="zoo.medical.folders:image_csv",
            description="Your images (PNG, JPEG, DICOM, NIfTI) listed in root/labels.csv: one class column or 0/1 "
                        "finding columns.",
            splits=("train", "val", "test"),
            license="yours",
            source="local files",
        ),
        DatasetEntry(
            name="mask_folder",
            problems=("segmentation",),
            loader="zoo.medical.folders:mask_folder",
            description="Your images and masks: root/images/NAME.* with root/masks/NAME.png (class index per pixel).",
            license="yours",
            source="local files",
        ),
        DatasetEntry(
            name="msd",
            problems=("segmentation",),
            loader="zoo.medical.volumes:msd",
            description="NIfTI volumes (or DICOM series) in the Medical Segmentation Decathlon layout, as 2D slices "
                        "or 3D.",
            license="per task (CC BY-SA 4.0 for the Decathlon)",
            source="http://medicaldecathlon.com",
        ),
    ],
)
