# General utility (Table 11): base and DVMap models through lm-evaluation-harness (lm-eval), one job
# per (model run, task set); specs/general_utility.yaml declares the pairs, task sets and the kit's
# local tasks. lm-eval's raw results JSON is the job's output; results/table11.csv is parsed from it.


include: "inputs/general_utility.smk"


wildcard_constraints:
    gu_pair="|".join(re.escape(p) for p in GU_PAIRS) or "no-pair",
    gu_task_set="|".join(re.escape(t) for t in GU["task_sets"]) or "no-task-set",
    gu_task="|".join(re.escape(t) for t in GU["local_tasks"]) or "no-local-task",
    gu_run="[^/]+",


localrules:
    table11,


rule general_utility_task:
    """Write one of the kit's local lm-eval tasks (task YAML + JSONL items) from held-out prompts."""
    input:
        unpack(get_gu_task_inputs),
    output:
        yaml="results/general_utility/tasks/{gu_task}/{gu_task}.yaml",
        data="results/general_utility/tasks/{gu_task}/items.jsonl",
    log:
        "logs/general_utility/task_{gu_task}.log",
    benchmark:
        "benchmarks/general_utility/task_{gu_task}.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        task=get_gu_local_task,
        option_lists=get_gu_option_lists,
    script:
        "../scripts/general_utility_task.py"


rule general_utility_eval:
    """lm-eval (simple_evaluate) on one model run (`base` or a trained folder) and one task set."""
    input:
        weights=get_gu_weights,
        task_yamls=get_gu_task_yamls,
        task_data=get_gu_task_data,
    output:
        "results/general_utility/raw/{gu_pair}/{gu_run}/{gu_task_set}.json",
    log:
        "logs/general_utility/{gu_pair}_{gu_run}_{gu_task_set}.log",
    benchmark:
        "benchmarks/general_utility/{gu_pair}_{gu_run}_{gu_task_set}.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 2
    resources:
        gpu=get_gu_gpus,
        runtime=get_gu_runtime,
    params:
        arguments=get_gu_arguments,
    script:
        "../scripts/general_utility_eval.py"


rule table11:
    """Table 11: per pair, task and metric the base, DVMap (mean over seeds), difference, 95% CI, n."""
    input:
        get_gu_raw_results,
    output:
        table=reported("results/table11.csv", "tables/table11", "general_utility"),
        seeds=reported("results/table11_seeds.csv", "tables/table11_seeds", "general_utility"),
    log:
        "logs/general_utility/table11.log",
    benchmark:
        "benchmarks/general_utility/table11.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        runs=get_gu_runs,
        tolerance=GU["tolerance"],
    script:
        "../scripts/general_utility_table.py"
