"""The file verl loads as its custom reward (reward.custom_reward_function.path). Upstream verl
calls compute_score(data_source, solution_str, ground_truth, extra_info, **reward_kwargs)."""
from dvmap.train.rewards import verl_compute_score as compute_score  # noqa: F401
