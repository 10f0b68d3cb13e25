"""Snakemake adapter: a split of the released DVMap corpus -> the kit's sample schema."""
from dvmap.data.release import read_release_split, release_to_samples
from dvmap.files import logged, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    samples = release_to_samples(read_release_split(sm.input[0]), sm.params.attribute_names,
                                 sm.params.countries, sm.input[0], sm.params.questions)
    write_parquet(samples, sm.output[0])
    log.info("%s: %d samples from the release", sm.output[0], len(samples))
