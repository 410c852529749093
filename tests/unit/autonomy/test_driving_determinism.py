"""Same seed, same trajectories; results do not depend on the batch size."""
from pathlib import Path

import numpy as np
import pytest

from synthscape.scenarios import load_spec
from synthscape_autonomy.rollout import simulate
from synthscape_autonomy.scenario import Scene

HIGHWAY = Path(__file__).parents[3] / "scenarios" / "autonomy" / "highway.yaml"


def _spec(**kw):
    spec = load_spec(HIGHWAY)
    return spec.model_copy(update={"duration": 4.0, **kw})


def test_same_seed_same_trajectories_and_other_seed_differs():
    a = simulate(Scene(_spec()), Scene(_spec()).draws(range(3)), record=True)
    b = simulate(Scene(_spec()), Scene(_spec()).draws(range(3)), record=True)
    for k in a.traj:
        np.testing.assert_array_equal(a.traj[k], b.traj[k])
    c_scene = Scene(_spec(seed=10))
    c = simulate(c_scene, c_scene.draws(range(3)), record=True)
    assert not np.allclose(a.traj["x"], c.traj["x"])


def test_batch_size_does_not_change_results():
    big = Scene(_spec(batch=6))
    small = Scene(_spec(batch=2))
    a = simulate(big, big.draws(range(6)), record=True)
    b = simulate(small, small.draws(range(6)), record=True)
    _assert_same_rollouts(a, b)
    # an episode's world is the same alone as inside a batch
    alone = simulate(small, small.draws([4]), record=True)
    np.testing.assert_allclose(alone.traj["x"][0], a.traj["x"][4], atol=1e-3)


def test_workers_give_the_results_of_one_worker():
    scene = Scene(_spec(batch=2))
    one = simulate(scene, scene.draws(range(6)), record=True)
    two = simulate(scene, scene.draws(range(6)), record=True, workers=3)
    for k in one.traj:  # the same batches, run at once: bit for bit
        np.testing.assert_array_equal(one.traj[k], two.traj[k])
    for k in one.episodes:
        np.testing.assert_array_equal(one.episodes[k], two.episodes[k])


def test_a_world_reset_mid_run_replays_its_episode():
    """Worlds reset apart (vector-env auto-reset) run on their own step counters: the reaction
    delay buffer and the noise keys of a reset world start afresh."""
    import torch

    from synthscape_autonomy.sim import Simulator

    scene = Scene(_spec())
    with torch.no_grad():
        sim = Simulator(scene, scene.draws(range(3)))
        for _ in range(sim.K + 9):  # past a full turn of the reaction-delay ring buffer
            sim.step()
        sim.reset_worlds([1], scene.draws([5]))
        fresh = Simulator(scene, scene.draws([5]))
        for _ in range(20):
            sim.step()
            fresh.step()
    torch.testing.assert_close(sim.x[1], fresh.x[0], rtol=0, atol=1e-3)
    torch.testing.assert_close(sim.v[1], fresh.v[0], rtol=0, atol=1e-3)


def test_workers_with_several_torch_threads_are_rejected():
    from synthscape.errors import SpecError

    text = HIGHWAY.read_text().replace("kind: driving", "kind: driving\nworkers: 2\nthreads: 2")
    with pytest.raises(SpecError, match="threads: 1"):
        from synthscape.scenarios import parse_spec

        parse_spec(text, source="two_workers.yaml")


@pytest.mark.gpu
def test_cuda_gives_the_cpu_results():
    import torch

    cpu = Scene(_spec(batch=4))
    gpu = Scene(_spec(batch=4), device=torch.device("cuda"))
    a = simulate(cpu, cpu.draws(range(4)), record=True)
    b = simulate(gpu, gpu.draws(range(4)), record=True)
    _assert_same_rollouts(a, b)


def _assert_same_rollouts(a, b):
    """Positions and speeds to 1e-3 m (float32 kernels), labels exactly."""
    for k in ("x", "y", "v"):
        np.testing.assert_allclose(a.traj[k], b.traj[k], rtol=0, atol=1e-3)
    for k in ("collision", "near_miss", "failure"):
        np.testing.assert_array_equal(a.episodes[k], b.episodes[k])
