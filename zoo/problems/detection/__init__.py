"""Object detection, shared by vision and driving: the Task (``task``), torchvision detector builders
(``detectors``), COCO/VOC/YOLO readers and writers (``formats``, ``datasets``), box AP and AR (``metrics``),
augmentation (``transforms``), drawing (``draw``), sliced inference (``slicing``) and the catalog generator of
torchvision's detection weights (``upstream``)."""
