import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    yield


class _Helpers:
    @staticmethod
    def spec_from(text: str, source: str = "test.yaml"):
        return spec_from(text, source)

    @staticmethod
    def sim_of(text: str, episodes=(0,)):
        return sim_of(text, episodes)


@pytest.fixture
def driving():
    """Helpers: ``driving.spec_from(yaml)``, ``driving.sim_of(yaml)``."""
    return _Helpers()


def spec_from(text: str, source: str = "test.yaml"):
    from synthscape.scenarios import parse_spec

    return parse_spec(text, source=source)


def sim_of(text: str, episodes=(0,)):
    from synthscape_autonomy.scenario import Scene
    from synthscape_autonomy.sim import Simulator

    scene = Scene(spec_from(text))
    return Simulator(scene, scene.draws(episodes))
