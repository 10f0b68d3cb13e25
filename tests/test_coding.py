import numpy as np
import pandas as pd
import pytest

from dvmap.data import coding
from dvmap.errors import SurveyFileError

LIFE_STAGE = {"name": "Life Stage", "wvs_var": "Q262", "bins": [
    {"label": "Adolescence", "upper": 18}, {"label": "Young Adulthood", "lower": 18, "upper": 35},
    {"label": "Middle Adulthood", "lower": 35, "upper": 51}, {"label": "Late Adulthood", "lower": 51, "upper": 65},
    {"label": "Older Adulthood", "lower": 65}]}
INCOME = {"name": "Income Bracket", "wvs_var": "Q288", "bins": [
    {"label": "Low income", "lower": 1, "upper": 4}, {"label": "Middle income", "lower": 4, "upper": 8},
    {"label": "High income", "lower": 8, "upper": 11}]}
CHILDREN = {"name": "Has Children", "wvs_var": "Q274", "bins": [
    {"label": "has no children", "lower": 0, "upper": 1}, {"label": "has at least one child", "lower": 1}]}
GENDER = {"name": "Gender", "wvs_var": "Q260", "labels": {"1": "Male", "2": "Female"}}
NA = "Not Answered"


@pytest.mark.parametrize("age,label", [(16, "Adolescence"), (17, "Adolescence"), (18, "Young Adulthood"),
                                       (34, "Young Adulthood"), (35, "Middle Adulthood"), (50, "Middle Adulthood"),
                                       (51, "Late Adulthood"), (64, "Late Adulthood"), (65, "Older Adulthood"),
                                       (99, "Older Adulthood"), (-1, NA), (-2, NA), (-5, NA)])
def test_life_stage_bins(age, label):
    assert coding.attribute_labels(pd.Series([age]), LIFE_STAGE, NA, "f").tolist() == [label]


@pytest.mark.parametrize("step,label", [(1, "Low income"), (3, "Low income"), (4, "Middle income"), (7, "Middle income"),
                                        (8, "High income"), (10, "High income"), (-1, NA), (-4, NA)])
def test_income_bins(step, label):
    assert coding.attribute_labels(pd.Series([step]), INCOME, NA, "f").tolist() == [label]


def test_children_bins_and_system_missing():
    out = coding.attribute_labels(pd.Series([0, 1, 7, np.nan, -2]), CHILDREN, NA, "f").tolist()
    assert out == ["has no children", "has at least one child", "has at least one child", NA, NA]


def test_value_outside_every_bin_is_named_error():
    with pytest.raises(SurveyFileError, match=r"column Q288: values \[11\] fall in no bin"):
        coding.attribute_labels(pd.Series([3, 11]), INCOME, NA, "survey.csv")


def test_labels_negative_codes_become_not_answered():
    out = coding.attribute_labels(pd.Series([1, 2, -1, -2, -3, -4, -5]), GENDER, NA, "f").tolist()
    assert out == ["Male", "Female", NA, NA, NA, NA, NA]


def test_file_value_labels_fill_codes_the_spec_lacks_and_spec_wins():
    out = coding.attribute_labels(pd.Series([1, 3]), GENDER, NA, "f", {1: "MALE (file)", 3: "Other (file)"})
    assert out.tolist() == ["Male", "Other (file)"]


def test_unlabelled_code_names_column_and_codes():
    with pytest.raises(SurveyFileError, match=r"survey.csv: column Q260: codes \[3\] have no label"):
        coding.attribute_labels(pd.Series([1, 3]), GENDER, NA, "survey.csv")


def test_non_integer_codes_are_rejected():
    with pytest.raises(SurveyFileError, match="non-integer codes"):
        coding.attribute_labels(pd.Series([1.5]), GENDER, NA, "f")


def test_answer_options_codes_and_missing():
    q = {"id": "Q1", "wvs_var": "Q1", "options": ["A", "B"], "codes": {"1": "A", "2": "B"}}
    assert coding.answer_options(pd.Series([1, 2, -1, np.nan]), q, "f").tolist() == ["A", "B", None, None]


def test_answer_options_scale_bins():
    q = {"id": "Q49", "wvs_var": "Q49", "options": ["Low", "Medium", "High"],
         "bins": [{"option": "Low", "lower": 1, "upper": 4}, {"option": "Medium", "lower": 4, "upper": 8},
                  {"option": "High", "lower": 8, "upper": 11}]}
    out = coding.answer_options(pd.Series([1, 3, 4, 7, 8, 10, -2]), q, "f").tolist()
    assert out == ["Low", "Low", "Medium", "Medium", "High", "High", None]


def test_answer_code_without_option_names_column():
    q = {"id": "Q1", "wvs_var": "Q1", "options": ["A", "B"], "codes": {"1": "A", "2": "B"}}
    with pytest.raises(SurveyFileError, match=r"column Q1: codes \[5\] map to no option of question Q1"):
        coding.answer_options(pd.Series([1, 5]), q, "f")
