"""The embedded default: a synthetic WVS-7-format survey generated from specs/synthetic.yaml.

Answers come from a latent model (see the spec's header): country positions on two
Inglehart-Welzel-like axes, attribute shifts, question loadings and ordinal thresholds
calibrated to the released dev split's aggregates. The file is a real SPSS .sav with WVS
variable names, codes, value labels and negative missing codes.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from dvmap.errors import SpecError

MISSING_LABELS = {-1: "Don't know", -2: "No answer", -3: "Not applicable", -4: "Not asked",
                  -5: "Missing; Not available"}
# ISO numeric codes of other WVS-7 countries, used for the filler countries a real file also holds.
OTHER_WVS7_COUNTRIES = [8, 20, 32, 51, 31, 50, 112, 68, 70, 100, 152, 170, 191, 196, 203, 218, 231, 233, 246,
                        250, 268, 300, 320, 344, 348, 352, 368, 380, 398, 400, 404, 410, 417, 422, 434, 440,
                        446, 458, 462, 496, 499, 504, 528, 554, 558, 578, 604, 608, 616, 620, 630, 642, 688,
                        702, 703, 705, 716, 724, 752, 756, 158, 762, 764, 788, 804, 858, 862]
# SAV header: creation date (9 bytes) and time (8 bytes) at byte 92. Fixed for reproducible files.
SAV_TIMESTAMP_OFFSET, SAV_TIMESTAMP = 92, b"01 Jan 22" + b"00:00:00"


def attribute_label_sets(attributes_spec: Mapping) -> dict[str, set[str]]:
    out = {}
    for a in attributes_spec["attributes"]:
        labels = set(a["labels"].values()) if "labels" in a else {b["label"] for b in a.get("bins", [])}
        out[a["name"]] = labels | {attributes_spec["not_answered"]}
    return out


def check_synthetic_against(specs: Mapping, paths: Mapping[str, str]) -> None:
    """Cross-spec checks: unique countries, loadings for every question, every label exists."""
    syn, file = specs["synthetic"], paths["synthetic"]
    if not Path(syn["calibration"]).is_file():
        raise SpecError(file, "calibration", f"calibration file {syn['calibration']} not found")
    iso3 = [c["iso3"] for c in syn["countries"]]
    for key in ("iso3", "iso_numeric"):
        values = [c[key] for c in syn["countries"]]
        for i, v in enumerate(values):
            if v in values[:i]:
                raise SpecError(file, f"countries/{i}/{key}", f"duplicate {key} {v}")
    label_sets = attribute_label_sets(specs["attributes"])
    qids = [q["id"] for q in specs["questions"]["questions"]]
    for q in qids:
        if q not in syn["loadings"]:
            raise SpecError(file, "loadings", f"no loadings for question {q}")
    for attr, labels in syn["shifts"].items():
        if attr not in label_sets:
            raise SpecError(file, f"shifts/{attr}", f"unknown attribute '{attr}'")
        for label in labels:
            if label not in label_sets[attr]:
                raise SpecError(file, f"shifts/{attr}/{label}", f"'{label}' is not a label of {attr}")
    for i, s in enumerate(syn["question_shifts"]):
        if s["question"] not in qids:
            raise SpecError(file, f"question_shifts/{i}/question", f"unknown question '{s['question']}'")
        if s["label"] not in label_sets.get(s["attribute"], set()):
            raise SpecError(file, f"question_shifts/{i}/label", f"'{s['label']}' is not a label of {s['attribute']}")
    for country, attrs in syn["attribute_overrides"].items():
        if country not in iso3:
            raise SpecError(file, f"attribute_overrides/{country}", f"unknown country '{country}'")
        for attr, shares in attrs.items():
            for label in shares:
                if label not in label_sets.get(attr, set()):
                    raise SpecError(file, f"attribute_overrides/{country}/{attr}/{label}",
                                    f"'{label}' is not a label of {attr}")


class _Generator:
    def __init__(self, specs: Mapping, size: str, calibration: Mapping):
        self.specs, self.syn = specs, specs["synthetic"]
        self.size = self.syn["sizes"][size]
        self.size_name = size
        self.rng = np.random.default_rng(self.syn["seed"])
        self.calibration = calibration["countries"]
        self.attrs = [a for a in specs["attributes"]["attributes"] if not a.get("from_countries")]
        self.questions = specs["questions"]["questions"]
        self.not_answered = specs["attributes"]["not_answered"]
        self.countries = self.syn["countries"]
        # Calibrated countries (the release's training countries) set the pooled shares and thresholds.
        self.train_iso3 = [c["iso3"] for c in self.countries if c["iso3"] in self.calibration]

    # ---- attributes -------------------------------------------------------------------------
    def pooled_shares(self, attribute: str) -> dict[str, float]:
        pooled: dict[str, float] = {}
        for c in self.train_iso3:
            for label, s in self.calibration[c]["attributes"].get(attribute, {}).items():
                pooled[label] = pooled.get(label, 0.0) + s / len(self.train_iso3)
        return pooled

    def shares(self, iso3: str | None, attribute: str) -> tuple[np.ndarray, np.ndarray]:
        override = self.syn["attribute_overrides"].get(iso3, {}).get(attribute) if iso3 else None
        table = override or (self.calibration[iso3]["attributes"].get(attribute)
                             if iso3 in self.calibration else None) or self.pooled_shares(attribute)
        labels = np.array(sorted(table), dtype=object)
        p = np.array([table[k] for k in labels], dtype=float)
        return labels, p / p.sum()

    def draw_profiles(self, iso3: str | None, n: int) -> pd.DataFrame:
        """Attribute labels of n respondents; some copy a prototype so that profiles repeat."""
        k = max(1, int(round(n * self.syn["profiles"]["prototypes_per_respondent"])))
        independent = {}
        for a in self.attrs:
            labels, p = self.shares(iso3, a["name"])
            independent[a["name"]] = labels[self.rng.choice(len(labels), p=p, size=n + k)]
        frame = pd.DataFrame(independent)
        prototypes, people = frame.iloc[n:].reset_index(drop=True), frame.iloc[:n].reset_index(drop=True)
        copy = self.rng.random(n) < self.syn["profiles"]["share_probability"]
        which = self.rng.integers(0, k, size=n)
        people.loc[copy, :] = prototypes.iloc[which[copy]].to_numpy()
        return people

    def attribute_codes(self, labels: pd.Series, attr: Mapping) -> np.ndarray:
        var = attr["wvs_var"]
        missing_pool = self.syn["missing_codes"].get(var, self.syn["missing_codes"]["default"])
        codes = np.zeros(len(labels), dtype=float)
        na = (labels == self.not_answered).to_numpy()
        codes[na] = self.rng.choice(missing_pool, size=int(na.sum()))
        if "labels" in attr:
            inverse = {v: float(k) for k, v in sorted(attr["labels"].items(), key=lambda kv: int(kv[0]), reverse=True)}
            codes[~na] = labels[~na].map(inverse).to_numpy(dtype=float)
        else:
            span = self.syn["numeric_ranges"].get(var, {})
            for b in attr["bins"]:
                rows = (labels == b["label"]).to_numpy()
                lo = int(b.get("lower", span.get("lower", 0)))
                hi = int(b.get("upper", span.get("upper", lo + 1)))
                codes[rows] = self.rng.integers(lo, hi, size=int(rows.sum()))
        return codes

    # ---- answers ----------------------------------------------------------------------------
    def latent_scores(self, people: pd.DataFrame, iso3: np.ndarray) -> np.ndarray:
        """z (respondents x questions) of the latent model."""
        n = len(people)
        position = {c["iso3"]: c["position"] for c in self.countries}
        axes = np.array([position.get(c, [0.0, 0.0]) for c in iso3], dtype=float)  # unnamed extras: the origin
        for attr, table in self.syn["shifts"].items():
            axes += np.array([table.get(v, [0.0, 0.0]) for v in people[attr]], dtype=float)
        loadings = np.array([self.syn["loadings"][q["id"]] for q in self.questions], dtype=float)
        z = axes @ loadings.T
        q_index = {q["id"]: j for j, q in enumerate(self.questions)}
        for s in self.syn["question_shifts"]:
            z[(people[s["attribute"]] == s["label"]).to_numpy(), q_index[s["question"]]] += s["shift"]
        profile_key = pd.Series(iso3).str.cat(people.astype(str).agg("\x1f".join, axis=1), sep="\x1f")
        codes, uniques = pd.factorize(profile_key, sort=True)
        u = self.correlate_neighbours(self.rng.standard_normal((len(uniques), len(self.questions))))
        e = self.correlate_neighbours(self.rng.standard_normal((n, len(self.questions))))
        z += self.syn["latent"]["profile_noise"] * u[codes]
        z += self.syn["latent"]["individual_noise"] * e
        return z

    def correlate_neighbours(self, noise: np.ndarray) -> np.ndarray:
        """Noise of a cross-value question correlates with its training neighbour's (rho from the spec),
        so the unseen question shares more than the two axes with the question it resembles."""
        rho = self.syn["latent"]["neighbour_correlation"]
        column = {q["id"]: j for j, q in enumerate(self.questions)}
        for j, q in enumerate(self.questions):
            if q.get("neighbour") in column:
                noise[:, j] = rho * noise[:, column[q["neighbour"]]] + np.sqrt(1 - rho**2) * noise[:, j]
        return noise

    @staticmethod
    def cut(z: np.ndarray, shares: np.ndarray) -> np.ndarray:
        """Option index of each score so that the option shares within z match `shares`."""
        cuts = np.quantile(z, np.clip(np.cumsum(shares)[:-1], 0, 1)) if len(z) else np.zeros(len(shares) - 1)
        return np.searchsorted(cuts, z, side="right")

    def answer_indices(self, z: np.ndarray, iso3: np.ndarray) -> np.ndarray:
        out = np.zeros(z.shape, dtype=np.int64)
        train_rows = np.isin(iso3, self.train_iso3)
        for j, q in enumerate(self.questions):
            k = len(q["options"])
            calibrated = {c: np.array(self.calibration[c]["answers"][q["id"]])
                          for c in self.train_iso3 if q["id"] in self.calibration[c]["answers"]}
            pooled = (np.mean(list(calibrated.values()), axis=0) if calibrated else np.full(k, 1.0 / k))
            # Fixed thresholds: pooled shares over the training countries' scores.
            fixed = np.quantile(z[train_rows, j], np.cumsum(pooled / pooled.sum())[:-1])
            out[:, j] = np.searchsorted(fixed, z[:, j], side="right")
            for c, shares in calibrated.items():
                rows = iso3 == c
                out[rows, j] = self.cut(z[rows, j], shares / shares.sum())
        return out

    def answer_codes(self, index: np.ndarray, iso3: np.ndarray) -> dict[str, np.ndarray]:
        columns = {}
        for j, q in enumerate(self.questions):
            idx = index[:, j]
            if "codes" in q:
                first_code = {}
                for code, option in sorted(q["codes"].items(), key=lambda kv: int(kv[0])):
                    first_code.setdefault(option, float(code))
                codes = np.array([first_code[o] for o in q["options"]])[idx]
            else:
                lo = np.array([b["lower"] for b in q["bins"]])[idx]
                hi = np.array([b["upper"] for b in q["bins"]])[idx]
                codes = np.floor(lo + self.rng.random(len(idx)) * (hi - lo))
            answered = np.array([self.calibration.get(c, {}).get("answered", {}).get(
                q["id"], 1.0 - self.syn["default_answer_missing"]) for c in iso3])
            not_asked = answered <= 0.0
            skip = self.rng.random(len(idx)) >= np.minimum(answered, 1.0)
            codes = np.where(skip, self.rng.choice([-1.0, -2.0], size=len(idx)), codes)
            columns[q["wvs_var"]] = np.where(not_asked, -4.0, codes)
        return columns

    # ---- file ---------------------------------------------------------------------------------
    def country_sizes(self) -> list[tuple[int, str | None, int]]:
        """(iso numeric, iso3 or None for filler countries, respondents)."""
        configured = [(c["iso_numeric"], c["iso3"]) for c in self.countries]
        taken = {n for n, _ in configured}
        extra = [n for n in OTHER_WVS7_COUNTRIES if n not in taken][: self.size["extra_countries"]]
        if self.size_name == "demo":
            n = self.size["respondents_per_country"]
            return [(num, iso, n) for num, iso in configured] + [(num, None, n) for num in extra]
        fixed = self.size["respondents"]
        sizes = [(num, iso, int(fixed.get(iso, 1000))) for num, iso in configured]
        rest = max(0, self.size["respondents_total"] - sum(s for _, _, s in sizes))
        if extra:
            share = np.full(len(extra), rest // len(extra))
            share[: rest - share.sum()] += 1
            sizes += [(num, None, int(s)) for num, s in zip(extra, share)]
        return sizes

    def frame(self) -> tuple[pd.DataFrame, dict, dict]:
        blocks, iso3_all, numeric_all = [], [], []
        for numeric, iso3, n in self.country_sizes():
            blocks.append(self.draw_profiles(iso3, n))
            iso3_all += [iso3 or f"X{numeric:03d}"] * n
            numeric_all += [numeric] * n
        people = pd.concat(blocks, ignore_index=True)
        iso3 = np.array(iso3_all, dtype=object)
        z = self.latent_scores(people, iso3)
        answers = self.answer_codes(self.answer_indices(z, iso3), iso3)
        n = len(people)
        numeric = np.array(numeric_all)
        weight = self.rng.lognormal(0.0, 0.35, size=n)
        weight /= pd.Series(weight).groupby(numeric).transform("mean").to_numpy()
        data = {"version": np.full(n, "7-0-0 synthetic", dtype=object), "A_WAVE": np.full(n, 7.0),
                "B_COUNTRY": numeric.astype(float), "B_COUNTRY_ALPHA": iso3,
                "D_INTERVIEW": (numeric * 100000 + pd.Series(numeric).groupby(numeric).cumcount().to_numpy() + 1).astype(float),
                "W_WEIGHT": np.round(weight, 6)}
        for attr in self.attrs:
            data[attr["wvs_var"]] = self.attribute_codes(people[attr["name"]], attr)
        data.update(answers)
        used = set(data)
        filler = [f"Q{i}" for i in range(1, 291) if f"Q{i}" not in used] + [f"Y{i:03d}" for i in range(1, 400)]
        for name in filler[: max(0, self.size["n_columns"] - len(data))]:
            col = self.rng.integers(1, 5, size=n).astype(float)
            col[self.rng.random(n) < 0.03] = -2.0
            data[name] = col
        df = pd.DataFrame(data)
        value_labels, column_labels = self.labels(df.columns)
        return df, value_labels, column_labels

    def labels(self, columns) -> tuple[dict, dict]:
        value_labels: dict[str, dict] = {}
        column_labels = {c: "" for c in columns}
        column_labels.update({"B_COUNTRY": "ISO 3166-1 numeric country code", "W_WEIGHT": "Weight",
                              "D_INTERVIEW": "Interview ID", "B_COUNTRY_ALPHA": "ISO 3166-1 alpha-3 country code"})
        for attr in self.attrs:
            labels = {float(k): v for k, v in attr.get("labels", {}).items()}
            value_labels[attr["wvs_var"]] = {**labels, **{float(k): v for k, v in MISSING_LABELS.items()}}
            column_labels[attr["wvs_var"]] = attr["name"]
        for q in self.questions:
            labels = {float(k): v for k, v in q.get("codes", {}).items()}
            value_labels[q["wvs_var"]] = {**labels, **{float(k): v for k, v in MISSING_LABELS.items()}}
            column_labels[q["wvs_var"]] = q["concept"]
        value_labels["B_COUNTRY"] = {float(c["iso_numeric"]): c["name"] for c in self.countries}
        return value_labels, column_labels


def synthetic_frame(specs: Mapping, size: str, calibration: Mapping) -> tuple[pd.DataFrame, dict, dict]:
    """The synthetic survey as a DataFrame of WVS codes, with value and column labels.

    `specs` needs attributes, questions and synthetic (which lists the countries); `calibration` is the content
    of the calibration file the synthetic spec names.
    """
    return _Generator(specs, size, calibration).frame()


def write_sav(df: pd.DataFrame, value_labels: Mapping, column_labels: Mapping, path: str | Path) -> None:
    """Write a .sav with pyreadstat, then fix the header's creation timestamp so equal inputs give
    byte-identical files."""
    path = Path(path)
    tmp = path.with_suffix(".tmp.sav")
    pyreadstat.write_sav(df, str(tmp), column_labels=[column_labels.get(c, "") for c in df.columns],
                         variable_value_labels={k: dict(v) for k, v in value_labels.items()})
    with open(tmp, "r+b") as fh:
        fh.seek(SAV_TIMESTAMP_OFFSET)
        fh.write(SAV_TIMESTAMP)
    tmp.replace(path)
