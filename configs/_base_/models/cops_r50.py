# COPS with a ResNet-50 "DeepLab" backbone (arXiv 2106.03188, Sec. 5; the
# original's Panoptic-DeepLab parts): deep stem of three 3x3 convs (128 ch),
# res5 dilated, output stride 16; two DeepLabV3+ decoders (their defaults:
# ASPP 256 ch, rates 6/12/18, res3 -> 64 ch, res2 -> 32 ch, decoder 256) and
# heads at stride 4 (their defaults: 256 ch, semantic CE on the hardest 20 %
# of the pixels, boundary BCE on the hardest 25 %). The dataset's
# configs/_base_/<dataset>_cops_*.py set its classes and offsets.
decoder = dict(type='DeepLabV3PlusDecoder', in_channels=(256, 512, 2048))

model = dict(
    type='COPS',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='mmseg.ResNetV1c',
        depth=50,
        stem_channels=128,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        # res5 block rates 2, 4, 8: detectron2's RES5_DILATION 2 times
        # RES5_MULTI_GRID (1, 2, 4); mmseg takes multi_grid as the rates
        multi_grid=(2, 4, 8),
        out_indices=(0, 1, 3),
        contract_dilation=True,
        # ImageNet weights of this 128-channel-stem ResNet-50: detectron2's
        # DeepLab R-52.pkl converted by
        # tools/model_converters/detectron2_r52_to_mmseg.py (docs/weights.md;
        # nothing is downloaded). OpenMMLab's ImageNet ResNetV1c instead:
        # stem_channels=64, checkpoint='open-mmlab://resnet50_v1c'.
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet50_v1c_stem128_imagenet.pth')),
    semantic_head=dict(
        type='COPSSemanticHead',
        decoder=decoder,
        loss_sem=dict(type='HardPixelCELoss')),
    affinity_head=dict(
        type='COPSAffinityHead',
        decoder=decoder,
        loss_boundary=dict(type='TopKBoundaryBCELoss', loss_weight=0.25)),
    # dropout on the AMWC inputs acts only when training through the solver
    # (stage 2; stage 1 does not use the cost head)
    cost_head=dict(type='AMWCCostHead', dropout_ratio=0.1),
    # segments under 200 px (things) are void at test time; the dataset
    # configs add the stuff area
    test_cfg=dict(instance_min_area=200))
