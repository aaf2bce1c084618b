# COPS with a ResNet-50 "DeepLab" backbone (COPS.md §1): deep stem of three
# 3x3 convs (128 ch), res5 dilated by 2 with multi-grid (1, 2, 4), output
# stride 16; two DeepLabV3+ decoders (ASPP 256 ch, rates 6/12/18, res3 -> 64
# ch, res2 -> 32 ch, decoder 256) and heads at stride 4.
# Dataset configs set num_things_classes / num_stuff_classes / num_classes.
num_things_classes = 80
num_stuff_classes = 53
num_classes = num_things_classes + num_stuff_classes
edge_distances = (1, 4, 16, 32)
output_stride = 4
norm_cfg = dict(type='BN', requires_grad=True)

decoder = dict(
    type='DeepLabV3PlusDecoder',
    in_channels=(256, 512, 2048),
    aspp_channels=256,
    aspp_dilations=(6, 12, 18),
    aspp_dropout_ratio=0.1,
    project_channels=(32, 64),
    decoder_channels=256,
    norm_cfg=norm_cfg)

model = dict(
    type='COPS',
    num_things_classes=num_things_classes,
    num_stuff_classes=num_stuff_classes,
    output_stride=output_stride,
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
        num_stages=4,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        # res5 block rates 2, 4, 8: detectron2's RES5_DILATION 2 times
        # RES5_MULTI_GRID (1, 2, 4); mmseg takes multi_grid as the rates
        multi_grid=(2, 4, 8),
        out_indices=(0, 1, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
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
        num_classes=num_classes,
        head_channels=256,
        norm_cfg=norm_cfg,
        loss_sem=dict(
            type='HardPixelCELoss', top_k_ratio=0.2, loss_weight=1.0)),
    affinity_head=dict(
        type='COPSAffinityHead',
        decoder=decoder,
        num_classes=num_classes,
        edge_distances=edge_distances,
        head_channels=256,
        classifier_channels=64,
        norm_cfg=norm_cfg,
        loss_boundary=dict(
            type='TopKBoundaryBCELoss', top_k_ratio=0.25, loss_weight=0.25)),
    cost_head=dict(type='AMWCCostHead'),
    test_cfg=dict(instance_min_area=200, stuff_min_area=4096))
