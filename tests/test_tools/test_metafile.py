"""model-index.yml / configs/metafile.yml (mmdet's model-index format): every
model names an existing config whose schedule it states, the paper's results
match the model zoo's target rows, and nothing claims hosted weights."""
import glob
import os.path as osp
import re

import yaml
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_yaml(path):
    with open(osp.join(REPO, path)) as f:
        return yaml.safe_load(f)


def zoo_targets():
    """config -> (PQ, PQ_th, PQ_st) of configs/README.md's target rows."""
    with open(osp.join(REPO, 'configs/README.md')) as f:
        rows = re.findall(
            r'^\| (\w+) \| target \(paper\) \| ([\d.]+) \| ([\d.]+) \| '
            r'([\d.]+) \|', f.read(), re.M)
    return {name: tuple(map(float, pq)) for name, *pq in rows}


def test_model_index_imports_metafile():
    index = load_yaml('model-index.yml')
    assert index == {'Import': ['configs/metafile.yml']}


def test_metafile_models():
    meta = load_yaml('configs/metafile.yml')
    collections = {c['Name'] for c in meta['Collections']}
    assert collections == {'COPS'}
    names = [m['Name'] for m in meta['Models']]
    assert len(set(names)) == len(names)
    configs = sorted(
        osp.basename(p)[:-3]
        for p in glob.glob(osp.join(REPO, 'configs/cops_*.py')))
    assert sorted(names) == configs, (
        'configs/metafile.yml must list every configs/cops_*.py once')
    targets = zoo_targets()
    assert set(targets) == {'cops_r50_cityscapes', 'cops_r50_coco'}
    for model in meta['Models']:
        assert model['In Collection'] == 'COPS'
        assert model['Config'] == f'configs/{model["Name"]}.py'
        cfg = Config.fromfile(osp.join(REPO, model['Config']))
        assert model['Metadata']['Iterations'] == cfg.train_cfg.max_iters
        batch = cfg.get('auto_scale_lr', {}).get(
            'base_batch_size', cfg.train_dataloader.batch_size)
        assert model['Metadata']['Batch Size'] == batch
        # no checkpoint in this project's format is hosted anywhere
        assert 'Weights' not in model
        if model['Name'] in targets:
            (result, ) = model['Results']
            assert result['Task'] == 'Panoptic Segmentation'
            metrics = result['Metrics']
            assert (metrics['PQ'], metrics['PQ_th'],
                    metrics['PQ_st']) == targets[model['Name']]
            assert model['Converted From']['Weights'].startswith(
                'https://1drv.ms/')
        else:
            assert 'Results' not in model
