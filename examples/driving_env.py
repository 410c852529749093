"""Step a registered gymnasium driving environment with a simple braking controller.

    python examples/driving_env.py
"""
import gymnasium as gym


def main(steps: int = 200) -> None:
    import synthscape_autonomy

    synthscape_autonomy.register()
    env = gym.make("synthscape_autonomy/CutIn-v0")
    obs, info = env.reset(seed=0)
    total = 0.0
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample() * 0.0)
        total += float(reward)
        if terminated or truncated:
            obs, info = env.reset()
    print(f"observation shape {obs.shape}, return over {steps} steps: {total:.2f}")
    env.close()


if __name__ == "__main__":
    main()
