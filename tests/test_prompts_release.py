"""Prompts (byte-for-byte against the release) and the released corpus as a data source."""
import pandas as pd
import pytest

from dvmap.data import prompts, release
from dvmap.errors import SurveyFileError

RELEASE_SYSTEM = "\nRespond in the following format:\n<reasoning>\n ...\n</reasoning>\n<answer>\n  ...\n</answer>\n"


@pytest.fixture(scope="module")
def dev_samples(release_dev, _specs, attribute_names):
    return release.release_to_samples(release_dev, attribute_names, _specs["countries"]["countries"], "dev.parquet",
                                      _specs["questions"]["questions"])


def test_structured_cot_reproduces_every_released_prompt(release_dev, dev_samples, _specs, attribute_names):
    out = prompts.render_prompts(dev_samples, attribute_names, _specs["prompts"]["templates"]["structured_cot"])
    mismatches = (out["prompt"].to_numpy() != release_dev["prompt"].to_numpy()).sum()
    assert len(out) == 7183 and mismatches == 0
    assert set(out["system"]) == {RELEASE_SYSTEM}


@pytest.mark.parametrize("template", ["structured_cot", "free_reasoning", "no_reasoning"])
def test_blockwise_render_equals_full_render(dev_samples, _specs, attribute_names, template):
    spec = _specs["prompts"]["templates"][template]
    env = prompts.environment()
    variables = prompts.template_variables(dev_samples.head(300), attribute_names)
    full = [env.get_template(spec["user"]).render(row._asdict()) for row in variables.itertuples(index=False)]
    assert prompts.render_user_prompts(env, spec["user"], variables) == full


def test_ablation_templates_keep_persona_and_question(dev_samples, _specs, attribute_names):
    row = dev_samples.head(1)
    structured = prompts.render_prompts(row, attribute_names, _specs["prompts"]["templates"]["structured_cot"])["prompt"][0]
    for name in ("free_reasoning", "no_reasoning"):
        other = prompts.render_prompts(row, attribute_names, _specs["prompts"]["templates"][name])["prompt"][0]
        assert other != structured
        assert other.split("\n")[1] == structured.split("\n")[1]  # the persona line
        assert other.endswith(structured[structured.index("**Question**"):])
    assert "Provide reasoning for each option" not in other


def test_template_outside_blocks_falls_back_to_full_render(tmp_path):
    (tmp_path / "plain.j2").write_text("Hi {{ gender }} - {{ question }}")
    env = prompts.environment(tmp_path)
    variables = pd.DataFrame({"gender": ["F"], "question": ["q?"]})
    assert prompts.render_user_prompts(env, "plain.j2", variables) == ["Hi F - q?"]


def test_undefined_variable_is_an_error(tmp_path):
    (tmp_path / "typo.j2").write_text("{{ gendr }}")
    with pytest.raises(Exception, match="gendr"):
        prompts.render_user_prompts(prompts.environment(tmp_path), "typo.j2", pd.DataFrame({"gender": ["F"]}))


@pytest.mark.parametrize("name,var", [("Life Stage", "life_stage"), ("Common Language", "common_language"),
                                      ("Country", "country"), ("Has Children", "has_children")])
def test_variable_name(name, var):
    assert prompts.variable_name(name) == var


def test_release_frequency_and_ids(release_dev, dev_samples):
    assert dev_samples["frequency"].to_numpy() == pytest.approx(release_dev["frequency"].to_numpy())
    assert dev_samples["sample_id"].is_unique
    assert dev_samples["profile_id"].nunique() == 460
    assert (dev_samples["options"].map(len) >= 2).all()


def test_release_missing_column_is_named(attribute_names, _specs):
    frame = pd.DataFrame({"Q_id": ["Q1"]})
    with pytest.raises(SurveyFileError, match=r"rel.parquet: missing release columns \['Country'"):
        release.release_to_samples(frame, attribute_names, _specs["countries"]["countries"], "rel.parquet",
                                   _specs["questions"]["questions"])


def test_release_unknown_country_is_named(release_dev, attribute_names, _specs):
    frame = release_dev.head(2).assign(Country="Atlantis")
    with pytest.raises(SurveyFileError, match="names not in the countries spec: \\['Atlantis'\\]"):
        release.release_to_samples(frame, attribute_names, _specs["countries"]["countries"], "rel.parquet",
                                   _specs["questions"]["questions"])
