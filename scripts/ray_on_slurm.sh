#!/usr/bin/env bash
# verl's Ray-on-SLURM recipe: a Ray head on the job's first node, workers on the others, then the
# given command (python -m verl.trainer.main_ppo ...) on the head. Used for multi-node models.
set -euo pipefail
mapfile -t nodes < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
head=${nodes[0]}
head_ip=$(srun --nodes=1 --ntasks=1 -w "$head" hostname --ip-address | awk '{print $1}')
port=6379
gpus_per_node=$(( ${SLURM_GPUS:-8} / ${#nodes[@]} ))
# Ray's CPU count per node (scripts/train_verl.py: dvmap.verl_config.ray_cpus); unset: Ray counts the cores
cpus=()
if [[ -n "${DVMAP_RAY_CPUS:-}" ]]; then cpus=(--num-cpus "$DVMAP_RAY_CPUS"); fi
srun --nodes=1 --ntasks=1 -w "$head" ray start --head --node-ip-address="$head_ip" --port=$port \
  --num-gpus "$gpus_per_node" ${cpus[@]+"${cpus[@]}"} --block &
sleep 15
for node in "${nodes[@]:1}"; do
  srun --nodes=1 --ntasks=1 -w "$node" ray start --address "$head_ip:$port" --num-gpus "$gpus_per_node" ${cpus[@]+"${cpus[@]}"} \
    --block &
done
sleep 15
export RAY_ADDRESS="$head_ip:$port"
"$@"
