"""What the driving task offers: plain data, read without importing torch."""

from zoo.registry import DatasetEntry, ModelEntry, ProblemEntry, make_task

_TORCHVISION = "https://github.com/pytorch/vision"
_BSD = "BSD-3-Clause"
_BOXES = "list of RGB float images in [0, 1], any size; resized inside to min_size/max_size"
_PIXELS = "RGB float batch (N, 3, H, W), ImageNet-normalised"


def _detector(name: str, description: str, recipe_dataset: str, downloads_weights: bool = False,
              input: str = _BOXES) -> ModelEntry:
    """A detector whose recipe is ``driving/<name>_<recipe_dataset>``; ``downloads_weights``: that recipe starts
    from catalog weights (model.pretrained), so the registry's smoke test skips it (tests/driving covers it)."""
    return ModelEntry(
        name=name, builder=f"zoo.problems.detection.detectors:{name}", description=description, input=input,
        default_dataset=recipe_dataset, recipe=f"driving/{name}_{recipe_dataset}", license=_BSD, source=_TORCHVISION,
        downloads_weights=downloads_weights, problem="detection",
    )


def _segmenter(name: str, description: str, recipe_dataset: str, downloads_weights: bool = False
               ) -> ModelEntry:
    return ModelEntry(
        name=name, builder=f"zoo.driving.segmenters:{name}", description=description, input=_PIXELS,
        default_dataset=recipe_dataset, recipe=f"driving/{name}_{recipe_dataset}", license=_BSD, source=_TORCHVISION,
        downloads_weights=downloads_weights, problem="segmentation",
    )


TASK = make_task(
    "driving",
    description="Road-user detection (boxes, COCO mAP; street and drone views) and road-scene segmentation (mean "
    "IoU); the model picks which.",
    problems=[
        ProblemEntry(
            name="detection",
            description="Road-user detection, from the street or a drone: boxes, COCO mAP@[.5:.95], mAP@.5, AP by "
            "object size and per class; sliced inference for small objects (the shared detection problem).",
            implementation="zoo.driving.task:Detection",
            export="zoo.driving.export:export_spec",
            default_model="fcos_mobilenet_v3",
            default_dataset="road_scenes",
            metrics=("map_50", "map", "map_75", "map_small", "mar_100", "ap_<class>", "sliced_<metric> (with task_args.slice_size)", "loss"),
        ),
        ProblemEntry(
            name="segmentation",
            description="Road-scene segmentation: mean IoU and pixel accuracy.",
            implementation="zoo.driving.task:Segmentation",
            export="zoo.driving.export:export_spec",
            default_model="lraspp_mobilenet_v3",
            default_dataset="road_scenes",
            metrics=("miou", "pixel_accuracy", "loss"),
        ),
    ],
    models=[
        _detector("fcos_mobilenet_v3", "FCOS, anchor-free, on a MobileNetV3-Large FPN (strides 8-64); the default "
                  "recipe halves its width for small images on a CPU.", "road_scenes"),
        _detector("fcos_mobilenet_v2", "FCOS on a MobileNetV2 FPN; model.pretrained loads torchvision's ImageNet "
                  "MobileNetV2 weights into the backbone (catalog).", "penn_fudan",
                  downloads_weights=True),
        _detector("fasterrcnn_mobilenet_v3_fpn", "Faster R-CNN on torchvision's MobileNetV3-Large FPN; COCO weights "
                  "in the catalog.", "road_scenes"),
        _detector("fasterrcnn_resnet50_fpn", "Faster R-CNN on a ResNet-50 FPN; COCO weights in the catalog.", "kitti",
                  downloads_weights=True),
        _detector("retinanet_resnet50_fpn", "RetinaNet (focal loss) on a ResNet-50 FPN; COCO weights in the catalog.",
                  "kitti", downloads_weights=True),
        _detector("fcos_resnet50_fpn", "FCOS on a ResNet-50 FPN; COCO weights in the catalog.", "kitti",
                  downloads_weights=True),
        _detector("ssdlite320_mobilenet_v3", "SSDlite on MobileNetV3-Large at 320x320; COCO weights in the catalog.",
                  "road_scenes", input=_BOXES.replace("min_size/max_size", "320x320")),
        _segmenter("lraspp_mobilenet_v3", "Lite R-ASPP on a dilated MobileNetV3-Large; the recipe halves its width.",
                   "road_scenes"),
        _segmenter("deeplabv3_mobilenet_v3", "DeepLabV3 (ASPP) on a dilated MobileNetV3-Large.",
                   "cityscapes"),
        _segmenter("deeplabv3_resnet50", "DeepLabV3 (ASPP) on a dilated ResNet-50, output stride 8.",
                   "cityscapes", downloads_weights=True),
        _segmenter("fcn_resnet50", "Fully convolutional network on a dilated ResNet-50.", "cityscapes",
                   downloads_weights=True),
    ],
    datasets=[
        DatasetEntry(
            name="road_scenes",
            problems=("detection", "segmentation"),
            loader="zoo.driving.datasets:road_scenes",
            description="Embedded: generated 192x128 road scenes with cars, trucks, pedestrians, cyclists and traffic "
            "lights in perspective, occluding each other; boxes, or pixel labels in 12 Cityscapes-like classes.",
            num_classes=5,
            embedded=True,
            license="Apache-2.0",
            source="zoo (generated in code)",
        ),
        DatasetEntry(
            name="aerial_scenes",
            problems=("detection",),
            loader="zoo.driving.datasets:aerial_scenes",
            description="Embedded: generated 192x192 top-down drone views (roads, roofs, fields, parking lots) at "
            "different heights, many cars, vans, trucks, buses, pedestrians and motorbikes of 5-30 px.",
            num_classes=6,
            embedded=True,
            license="Apache-2.0",
            source="zoo (generated in code)",
        ),
        DatasetEntry(
            name="visdrone",
            problems=("detection",),
            loader="zoo.driving.datasets:visdrone",
            description="VisDrone-DET: images/ and annotations/*.txt per split, 10 classes; ignored regions (0) are "
            "ignore regions, 'others' (11) left out as in VisDrone's toolkit.",
            num_classes=10,
            license="VisDrone terms (academic use)",
            source="https://github.com/VisDrone/VisDrone-Dataset",
        ),
        DatasetEntry(
            name="kitti",
            problems=("detection",),
            loader="zoo.driving.datasets:kitti",
            description="KITTI 2D object detection: training/image_2 and label_2 (8 classes; DontCare regions "
            "ignored in evaluation, left out of the loss); val is every 5th training frame.",
            num_classes=8,
            license="CC BY-NC-SA 3.0",
            source="https://www.cvlibs.net/datasets/kitti/eval_object.php?obj_benchmark=2d",
        ),
        DatasetEntry(
            name="coco",
            problems=("detection",),
            loader="zoo.driving.datasets:coco",
            description="COCO-format instances JSON (COCO 2017 or any COCO-style set), filtered to road users by "
            "default.",
            num_classes=7,
            license="CC BY 4.0 (annotations); images under their Flickr licences",
            source="https://cocodataset.org",
        ),
        DatasetEntry(
            name="voc",
            problems=("detection",),
            loader="zoo.driving.datasets:voc",
            description="Pascal VOC XML annotations (VOC 2007/2012 or any VOC-style set), road users by default.",
            num_classes=5,
            license="Flickr terms (see the VOC site)",
            source="http://host.robots.ox.ac.uk/pascal/VOC/",
        ),
        DatasetEntry(
            name="penn_fudan",
            problems=("detection",),
            loader="zoo.driving.datasets:penn_fudan",
            description="Penn-Fudan pedestrians: 170 street images, 345 pedestrians boxed; the last 50 images are val.",
            num_classes=1,
            license="research use (see the dataset page)",
            source="https://www.cis.upenn.edu/~jshi/ped_html/",
        ),
        DatasetEntry(
            name="cityscapes",
            problems=("segmentation",),
            loader="zoo.driving.datasets:cityscapes",
            description="Cityscapes fine annotations: leftImg8bit + gtFine labelIds mapped to the 19 train ids, "
            "resized to 512x256 by default.",
            splits=("train", "val"),
            num_classes=19,
            license="Cityscapes terms (non-commercial)",
            source="https://www.cityscapes-dataset.com",
        ),
    ],
)
