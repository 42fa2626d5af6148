"""The ``lm`` tabular transformer: tokens, constrained decoding, conditions, DP, files."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from healthforge.data.encoding import TableEncoder
from healthforge.data.infer import infer_schema
from healthforge.errors import HealthForgeError
from healthforge.evaluation.features import FeatureSpace, encode_codes
from healthforge.evaluation.fidelity import column_similarities
from healthforge.generators import describe, get_generator, load_model
from healthforge.generators.lm.tokenizer import Tokenizer
from tests.fixtures_data import assert_rows_valid, bundled, make_messy

pytest.importorskip("torch")

TINY = {"epochs": 5, "d_model": 32, "n_layers": 2, "n_heads": 4, "threads": 1, "lr": 1e-2}
# enough training on a few NHEFS columns for conditionals to be learnt (~15 s on 2 cores)
NHEFS = {**TINY, "epochs": 30, "batch_size": 128, "patience": 10}
NHEFS_COLUMNS = ["sex", "age", "death", "race", "sbp", "wt71", "smokeyrs"]


@cache
def nhefs_small() -> pd.DataFrame:
    return bundled("nhefs")[NHEFS_COLUMNS].reset_index(drop=True)


@cache
def fitted_nhefs():
    return get_generator("lm", **NHEFS).fit(nhefs_small(), target="death")


@cache
def fitted_icu(seed: int = 0):
    return get_generator("lm", seed=seed, **TINY).fit(bundled("icu"), target="died")


def messy_with_recode() -> pd.DataFrame:
    df = make_messy(300)
    df["bmi_band"] = np.where(df["bmi"].isna(), None, np.where(df["bmi"] >= 30, "obese", "not"))
    df["sex_code"] = df["sex"].map({"female": "F", "male": "M"})  # an exact recode
    return df


@cache
def fitted_messy():
    return get_generator("lm", **TINY).fit(messy_with_recode())


def test_tokenizer_round_trip() -> None:
    df = make_messy(300)
    df["dose"] = (np.arange(300) % 40) * 0.5 + 0.25  # few distinct numbers: a token each
    schema = infer_schema(df)
    encoder = TableEncoder(schema)
    X = encoder.encode(df)
    tok = Tokenizer.from_data(X, encoder.discrete, encoder.cardinalities, n_bins=8)
    rng = np.random.default_rng(0)
    codes = tok.encode(X, rng)
    assert codes.shape == X.shape
    assert (codes >= 0).all() and (codes < tok.sizes[None, :]).all()
    back = tok.decode(codes, rng)
    kinds = [c.kind for c in tok.codecs]
    assert {"category", "support", "bins"} <= set(kinds)
    for j, codec in enumerate(tok.codecs):
        same_missing = np.isnan(back[:, j]) == np.isnan(X[:, j])
        assert same_missing.all(), encoder.names[j]
        ok = ~np.isnan(X[:, j])
        if codec.kind in ("category", "support"):  # exact tokens: exact values back
            assert np.array_equal(back[ok, j], X[ok, j]), encoder.names[j]
        else:  # a bin token: a training value of that bin comes back (on the data's lattice)
            k, values = codec.n_levels, codec.values
            n = len(values)
            low = values[codes[ok, j] * n // k]
            high = values[-(-(codes[ok, j] + 1) * n // k) - 1]
            assert ((back[ok, j] >= low) & (back[ok, j] <= high)).all()
            assert np.isin(back[ok, j], X[ok, j]).all()
            assert codec.size == k + int(codec.has_missing)


def test_decoded_rows_are_valid() -> None:
    real = messy_with_recode()
    gen = fitted_messy()
    synth = gen.sample(600, seed=1)
    real_modelled = real[[c.name for c in gen.schema_.modelled]].copy()
    for frame in (real_modelled, synth):  # dates compared as day numbers
        frame["admitted"] = pd.to_datetime(frame["admitted"]).map(pd.Timestamp.toordinal)
    assert_rows_valid(gen, real_modelled, synth, tol=0.08)
    bmi = synth["bmi"].dropna().to_numpy()
    assert np.allclose(bmi, np.round(bmi, 1))  # the schema's decimals
    assert synth["bmi"].isna().any()  # the missing token is written
    # the copy guard's promise, checked without its hashes: no row copies a unique real row
    counts = real_modelled.value_counts(dropna=False)
    unique_rows = counts[counts == 1].index.to_frame(index=False)
    assert len(unique_rows) > 0.9 * len(real_modelled)
    assert synth.merge(unique_rows, how="inner").empty


def test_exact_rules_of_the_data_hold_in_every_row() -> None:
    # 5 epochs teach the network little; the learnt rules still tie the recodes exactly
    synth = fitted_messy().sample(1000, seed=2)
    recoded = synth["sex"].map({"female": "F", "male": "M"})
    assert (recoded == synth["sex_code"]).all()
    # missing in one, missing in the other (a threshold inside a bin is not a token rule)
    assert (synth["bmi_band"].isna() == synth["bmi"].isna()).all()
    off = get_generator("lm", **{**TINY, "hard_rules": False}).fit(messy_with_recode())
    loose = off.sample(1000, seed=2)
    assert (loose["sex"].map({"female": "F", "male": "M"}) != loose["sex_code"]).any()


def _subset_similarity(real: pd.DataFrame, synth: pd.DataFrame, skip: set[str]) -> float:
    """Mean per-column similarity (1 - KS / 1 - TV) of ``synth`` to ``real``."""
    columns = [c for c in infer_schema(real).modelled if c.name not in skip]
    codes = encode_codes(real, columns)
    space = FeatureSpace.fit(codes, columns)
    sims = column_similarities(space, codes, encode_codes(synth, columns))
    return float(np.mean([v["similarity"] for v in sims.values()]))


def test_conditions_hold_by_construction_and_match_the_real_subset() -> None:
    gen = fitted_nhefs()
    real = nhefs_small()
    subset = real[(real["sex"] == 1) & (real["age"] >= 65)]
    given = gen.sample(800, seed=3, conditions=["sex=1", "age>=65"])
    assert ((given["sex"] == 1) & (given["age"] >= 65)).all()
    assert gen.sample_stats_["rejected_conditions"] == 0  # prompted, not filtered
    free = gen.sample(800, seed=3)
    skip = {"sex", "age"}
    assert _subset_similarity(subset, given, skip) > _subset_similarity(subset, free, skip) + 0.05


def test_set_and_range_conditions() -> None:
    gen = fitted_nhefs()
    rows = gen.sample(300, seed=4, conditions=["race in [1]", "sbp<=120", "wt71>60"])
    assert (rows["race"] == 1).all() and (rows["sbp"] <= 120).all() and (rows["wt71"] > 60).all()
    with pytest.raises(HealthForgeError, match="impossible"):
        gen.sample(10, conditions=["age>=200"])


def test_same_seed_same_rows() -> None:
    a = fitted_icu().sample(200, seed=7)
    b = fitted_icu().sample(200, seed=7)
    pd.testing.assert_frame_equal(a, b)
    refit = get_generator("lm", seed=0, **TINY).fit(bundled("icu"), target="died")
    pd.testing.assert_frame_equal(a, refit.sample(200, seed=7))
    assert not a.equals(fitted_icu().sample(200, seed=8))


def test_temperature_and_top_p_change_the_spread() -> None:
    gen = fitted_icu()
    cold = get_generator("lm", **{**TINY, "top_p": 0.3})
    cold.__dict__.update({k: v for k, v in gen.__dict__.items() if k.endswith("_")})
    cold.__dict__["_net_cache"] = gen._net()
    free = gen.sample(500, seed=5)
    narrow = cold.sample(500, seed=5)
    assert narrow["systolic"].nunique() < free["systolic"].nunique()
    with pytest.raises(HealthForgeError, match="top_p"):
        get_generator("lm", top_p=0)
    with pytest.raises(HealthForgeError, match="n_heads"):
        get_generator("lm", d_model=30, n_heads=4)


def test_save_load_round_trip(tmp_path: Path) -> None:
    gen = fitted_icu()
    path = tmp_path / "lm.hfm"
    gen.save(str(path))
    loaded = load_model(path)
    pd.testing.assert_frame_equal(gen.sample(100, seed=2), loaded.sample(100, seed=2))


def test_models_saved_by_older_versions(tmp_path: Path) -> None:
    """A model saved before ``target_weight`` existed samples as trained (weight 1); one
    whose network predates this version's design is refused in one line, not a traceback."""
    import pickle
    import zipfile

    gen = fitted_nhefs()
    path = tmp_path / "old.hfm"
    gen.save(path)
    state = pickle.loads(zipfile.ZipFile(path).read("state.pkl"))
    del state.__dict__["target_weight"]  # as written before the parameter was added
    older = pickle.loads(pickle.dumps(state))
    assert older.target_weight == 1.0
    pd.testing.assert_frame_equal(older.sample(50, seed=3), gen.sample(50, seed=3))
    older.__dict__.pop("_net_cache", None)
    older.state_ = {k: v for k, v in older.state_.items() if not k.startswith("num_")}
    with pytest.raises(HealthForgeError, match="older healthforge"):
        older.sample(10, seed=0)


def test_dp_run_reports_its_budget() -> None:
    real = bundled("icu")
    schema = infer_schema(real, target="died")
    gen = get_generator("lm", epsilon=2.0, dp_epochs=2, noise_seed=0, **TINY)
    gen.orders_, gen.relations_ = ["stale"], "stale"  # as an earlier fit without DP left
    gen.fit(real, schema, target="died")
    assert gen.relations_ is None  # sums are read from the rows: never under DP
    budget = gen.dp_budget_
    assert 0 < budget["epsilon"] <= 2.0
    assert budget["split"]["dp_sgd"]["steps"] > 0
    assert budget["public_schema"] is True
    assert len(gen.train_hashes_) == 0  # a DP model keeps no hashes of training rows
    assert not getattr(gen, "orders_", [])  # nor order relations read from the rows
    assert not hasattr(gen, "token_ratios_")  # nor token shares (calibration)
    rows = gen.sample(200, seed=1, conditions=["sex=Female", "age>=65"])
    assert ((rows["sex"] == "Female") & (rows["age"] >= 65)).all()
    # without a public schema part of the budget releases the domain (200 rows need a
    # large budget for every category to clear the release threshold)
    private = get_generator("lm", epsilon=50.0, dp_epochs=1, noise_seed=0, **TINY)
    private.fit(real, target="died")
    assert private.dp_budget_["split"]["rho_domain"] > 0
    assert private.dp_budget_["epsilon"] <= 50.0


def test_registry_description() -> None:
    info = describe("lm")
    assert info.conditioning == "native" and info.differential_privacy
    assert info.params["epsilon"] is None


def test_arithmetic_relations_are_found_and_recomputed() -> None:
    from healthforge.generators.core.column_rules import ColumnRules

    def find_relations(X: np.ndarray, decimals: list[int | None]) -> list:
        return ColumnRules.learn(X, [False] * X.shape[1], decimals, lookups=False).sums

    rng = np.random.default_rng(0)
    before = np.round(rng.normal(70, 15, 400), 2)
    change = np.round(rng.normal(2, 5, 400), 2)
    after = before + change
    after[:20] = np.nan  # not measured at follow-up: the difference is missing too
    diff = after - before
    noise = rng.normal(0, 1, 400)
    X = np.column_stack([before, after, diff, noise])
    rel = find_relations(X, [2, 2, 2, None])
    # one relation; the widest column (a weight) is computed from the other two
    assert len(rel) == 1 and rel[0].target == 1
    assert {rel[0].left, rel[0].right} == {0, 2} and rel[0].sign == 1.0
    # a near-relation (off by more than the rounding) is not a relation
    X[100, 2] += 0.5
    assert find_relations(X, [2, 2, 2, None]) == []

    df = pd.DataFrame({"wt71": before, "wt82": np.round(after, 2), "wt82_71": np.round(diff, 2)})
    gen = get_generator("lm", **TINY).fit(df)
    synth = gen.sample(500, seed=1)
    assert len(gen.relations_.sums) == 1
    total = synth["wt71"] + synth["wt82_71"]
    inside = total.between(df["wt82"].min(), df["wt82"].max())  # the encoder clips to bounds
    assert inside.mean() > 0.9
    assert np.allclose(synth["wt82"][inside], total[inside], atol=0.011)
    assert (synth["wt82"].isna() == synth["wt82_71"].isna()).all()


def test_ordinal_smoothing_targets() -> None:
    df = bundled("icu")
    schema = infer_schema(df)
    enc = TableEncoder(schema)
    tok = Tokenizer.from_data(enc.encode(df), enc.discrete, enc.cardinalities, n_bins=8)
    soft = tok.soft_targets(0.3)
    assert np.allclose(soft.sum(axis=1), 1.0)
    age = enc.names.index("age")
    first = tok.offsets[age] + 10
    row = soft[first]
    # most mass on the token itself, the rest on its neighbours, decaying with distance
    assert row.argmax() == 10 and row[9] > row[7] > 0 and row[11] > row[13]
    sex = enc.names.index("sex")
    assert np.array_equal(soft[tok.offsets[sex]][:2], [1.0, 0.0])  # categories stay one-hot
    feats = tok.numeric_features()
    assert feats.shape[0] == tok.vocab_size and not feats[tok.offsets[sex]].any()
    with pytest.raises(HealthForgeError, match="smoothing"):
        get_generator("lm", smoothing=1.0)


def test_rows_are_written_in_many_column_orders() -> None:
    from healthforge.generators.lm.decoding import ORDERS_PER_BATCH, column_orders

    orders = column_orders(1000, 6, [4], np.random.default_rng(0))
    assert (orders[:, 0] == 4).all()
    assert (np.sort(orders, axis=1) == np.arange(6)).all()
    assert 1 < len(np.unique(orders, axis=0)) <= ORDERS_PER_BATCH
    tailed = column_orders(1000, 6, [4], np.random.default_rng(0), last=[2])
    assert (tailed[:, 0] == 4).all() and (tailed[:, -1] == 2).all()
    assert (np.sort(tailed, axis=1) == np.arange(6)).all()
    # a column under a condition is a prompt: written first even if it is the target
    assert (column_orders(50, 6, [2], np.random.default_rng(0), last=[2])[:, 0] == 2).all()


def test_the_target_is_written_last_unless_conditioned(monkeypatch: pytest.MonkeyPatch) -> None:
    import healthforge.generators.lm.decoding as decoding

    seen: list[np.ndarray] = []
    original = decoding.column_orders

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(original(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(decoding, "column_orders", recording)
    gen = fitted_nhefs()
    death = [c.name for c in gen.schema_.modelled].index("death")
    gen.sample(50, seed=1)
    assert (seen[-1][:, -1] == death).all()
    given = gen.sample(50, seed=1, conditions=["death=1"])
    assert (seen[-1][:, 0] == death).all() and (given["death"] == 1).all()


def test_dropout_masks_from_random_bits_drop_at_rate_p_seeded() -> None:
    import torch

    from healthforge.generators.lm.model import dropout, dropout_mask, network_class

    torch.manual_seed(0)
    x = torch.ones(200_000)
    keep, scale = dropout_mask(x, 0.1)
    assert keep.dtype == torch.bool and keep.shape == x.shape
    assert scale == pytest.approx(1 / 0.9, rel=1e-4)  # 1 / keep rate
    assert abs(1 - keep.float().mean().item() - 0.1) < 0.003  # drop rate p
    assert abs(dropout(x, 0.1).mean().item() - 1) < 0.005  # inverted: expectation kept
    assert dropout(x, 0.0) is x
    torch.manual_seed(0)
    again, _ = dropout_mask(x, 0.1)
    assert torch.equal(keep, again)  # torch's seeded generator: reproducible fits
    # the written-out attention (training, with dropout) equals torch's fused kernel
    # once dropout is off, so the two paths compute the same block
    net = network_class()(5, 20, 16, 2, 4, 1e-9, np.zeros((20, 13), np.float32))
    prev, cols = torch.randint(0, 20, (3, 5)), torch.arange(5).repeat(3, 1)
    net.train()
    written = net.hidden(prev, cols)
    net.eval()
    assert torch.allclose(written, net.hidden(prev, cols), atol=1e-5)


def test_the_target_counts_target_weight_times_in_the_loss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    import healthforge.generators.lm.training as training

    weights = training._column_weights(5, [2], 4.0)
    assert weights.mean() == pytest.approx(1.0) and weights[2] / weights[0] == pytest.approx(4.0)
    # the loss is linear in the column weights: each column's cross-entropy times its weight
    gen = fitted_nhefs()
    tok = gen.tokenizer_
    net = training.build_network(tok, gen._settings(False))
    net.load_state_dict(gen.state_)
    net.eval()  # no dropout: the same loss on every call
    d = tok.n_columns
    codes = tok.encode(gen.encoder_.encode(nhefs_small().head(64)), np.random.default_rng(0))
    rows = torch.as_tensor(codes + tok.offsets[None, :])
    orders = torch.argsort(torch.rand(len(rows), d, generator=torch.Generator().manual_seed(0)))
    tables = training.loss_tables(tok)

    def loss(w: np.ndarray) -> float:
        with torch.no_grad():
            return float(
                training.sequence_loss(
                    net, rows, orders, {**tables, "weights": torch.as_tensor(w)}, False
                )
            )

    one_hot = [loss(np.eye(d, dtype=np.float32)[j]) for j in range(d)]
    assert loss(weights := training._column_weights(d, [1], 4.0)) == pytest.approx(
        float(np.dot(weights, one_hot)), rel=1e-5
    )
    # the generator weights its target; DP-SGD trains every column alike
    dp = get_generator("lm", epsilon=1.0)
    assert dp._settings(True).target_weight == 1.0 and dp._settings(False).target_weight == 4.0
    seen: list[tuple[list[int], float]] = []
    original = training._column_weights

    def recording(d: int, target: list[int], weight: float) -> np.ndarray:
        seen.append((target, weight))
        return original(d, target, weight)

    monkeypatch.setattr(training, "_column_weights", recording)
    fitted = get_generator("lm", **{**NHEFS, "epochs": 1}).fit(nhefs_small(), target="death")
    assert seen[-1] == ([[c.name for c in fitted.schema_.modelled].index("death")], 4.0)
    with pytest.raises(HealthForgeError, match="target_weight"):
        get_generator("lm", target_weight=0)


def test_token_ratios_move_shares_to_the_training_rows() -> None:
    from healthforge.generators.lm.calibration import MAX_RATIO, token_ratios, token_shares

    valid = np.array([[True, True, True], [True, True, False]])
    train = np.array([[0, 0], [0, 1], [1, 1], [2, 1]])  # column 0: 1/2, 1/4, 1/4
    drawn = np.array([[1, 0], [1, 0], [1, 0], [2, 0]])  # column 0 never drew token 0
    np.testing.assert_allclose(token_shares(train, valid)[0], [0.5, 0.25, 0.25])
    ratios = token_ratios(train, drawn, valid)
    # one training row's worth (1/4) added to both shares: (1/2 + 1/4) / (0 + 1/4) = 3, ...
    np.testing.assert_allclose(ratios[0], [3.0, 0.5, 1.0])
    assert ratios[1, 0] == pytest.approx(0.4) and ratios[1, 1] == MAX_RATIO  # 4: clipped
    assert ratios[1, 2] == 1.0  # padding


def test_calibration_brings_each_columns_shares_closer_to_the_training_rows() -> None:
    from healthforge.generators.lm.calibration import token_shares

    calibrated = fitted_nhefs()
    plain = get_generator("lm", seed=0, calibrate=False, **NHEFS)
    plain.fit(nhefs_small(), target="death")
    assert calibrated.token_ratios_.shape == calibrated.tokenizer_.slot_valid.shape
    assert not hasattr(plain, "token_ratios_")
    tok = calibrated.tokenizer_
    valid = tok.slot_valid
    X = calibrated.encoder_.encode(nhefs_small()[calibrated.schema_.modelled_names])
    wanted = token_shares(tok.encode(X, np.random.default_rng(0)), valid)

    def distance(model) -> float:  # mean total variation over the columns
        codes, _ = model._draw_codes(4000, np.random.default_rng(5), {})
        return float(np.abs(token_shares(codes, valid) - wanted).sum(axis=1).mean() / 2)

    assert distance(calibrated) < 0.8 * distance(plain)
