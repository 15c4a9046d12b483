import numpy as np
import pytest
from datasketch import MinHash

from webrefine.dedup import kernels
from webrefine.dedup import shingles
from webrefine.dedup.minhash import MinHasher, MinhashDedup, affine32_permutations, probability

TEXT = " ".join(f"w{i % 97} x{i % 13}" for i in range(300))


KERNELS = kernels.available()


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("preset", ["refinedweb", "fineweb"])
def test_signature_equals_datasketch_hashvalues(preset, kernel):
    stage = MinhashDedup(preset=preset)
    ours = MinHasher(stage.n_bands, stage.n_rows, stage.seed, kernel=kernel)
    ref = MinHash(num_perm=stage.num_perm, seed=stage.seed, hashfunc=shingles.shingle_hash32)
    ref.update_batch(list(shingles.shingles(shingles.words(TEXT))))
    assert ours.kernel_name == kernel
    assert np.array_equal(ours.signature(ours.shingle_hashes(TEXT)), ref.hashvalues)


@pytest.mark.parametrize("num_perm,seed", [(9000, 1), (112, 1), (15, 7), (1, 0), (128, 2**31 + 5)])
def test_permutations_are_datasketchs(num_perm, seed):
    a, b = affine32_permutations(num_perm, seed)
    ref_a, ref_b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    assert a.dtype == b.dtype == np.uint32 and a.flags.c_contiguous and b.flags.c_contiguous
    assert np.array_equal(a, ref_a) and np.array_equal(b, ref_b)
    assert np.all(a % 2 == 1)


def test_signing_does_not_import_datasketch():
    """A Beam worker that signs must not pay for datasketch's import (dedup/minhash.py)."""
    from tests.fresh_imports import modules_after

    loaded = modules_after("from webrefine.dedup.minhash import MinhashDedup\nh = MinhashDedup().hasher()\n"
                           "h.signature(h.shingle_hashes('one two three four five six'))")
    assert "webrefine.dedup.minhash" in loaded and "datasketch" not in loaded


@pytest.mark.parametrize("kernel", KERNELS)
def test_signature_across_block_boundaries_and_tiny_inputs(kernel, monkeypatch):
    monkeypatch.setattr(kernels, "_BLOCK_ELEMS", 60)  # 4 shingles per numpy block
    h = MinHasher(3, 5, seed=7, kernel=kernel)
    hashes = np.arange(1, 11, dtype=np.uint32) * np.uint32(2654435761)
    ref = MinHash(num_perm=15, seed=7, hashfunc=int)
    ref.update_batch([int(x) for x in hashes])
    assert np.array_equal(h.signature(hashes), ref.hashvalues)
    one = MinHash(num_perm=15, seed=7, hashfunc=int)
    one.update(int(hashes[0]))
    assert np.array_equal(h.signature(hashes[:1]), one.hashvalues)


@pytest.mark.parametrize("rows", [20, 7])
def test_band_keys_change_only_where_the_band_changes(rows):
    h = MinhashDedup(bands=30, rows=rows).hasher()
    sig = np.arange(30 * rows, dtype=np.uint32)
    keys = h.band_keys(sig)
    assert len(keys) == 30 and len(set(keys)) == 30 and all(0 <= k < 2 ** 63 for k in keys)
    other = sig.copy()
    other[rows * 4 + rows - 1] += 1  # last row of band 4
    keys2 = h.band_keys(other)
    assert [i for i in range(30) if keys[i] != keys2[i]] == [4]


def test_equal_bands_in_different_positions_get_different_keys():
    h = MinhashDedup(bands=2, rows=3).hasher()
    keys = h.band_keys(np.array([1, 2, 3, 1, 2, 3], dtype=np.uint32))
    assert keys[0] != keys[1]


def test_unknown_kernel_is_an_error():
    with pytest.raises(ValueError, match="kernel"):
        MinHasher(2, 2, kernel="gpu")


def test_presets_and_overrides():
    assert (MinhashDedup().n_bands, MinhashDedup().n_rows, MinhashDedup().num_perm) == (450, 20, 9000)
    fw = MinhashDedup(preset="fineweb")
    assert (fw.n_bands, fw.n_rows) == (14, 8)
    assert (MinhashDedup(preset="fineweb", bands=20).n_bands, MinhashDedup(rows=10).n_rows) == (20, 10)
    assert MinhashDedup().name == "minhash_dedup" and MinhashDedup.reasons == ("minhash_dedup.duplicate",)


@pytest.mark.parametrize("kwargs, field", [
    ({"preset": "c4"}, "preset"), ({"bands": -1}, "bands"), ({"ngram": 0}, "ngram"),
    ({"threshold": 0.0}, "threshold"), ({"threshold": 1.5}, "threshold"), ({"max_rounds": 0}, "max_rounds"),
    ({"survivor": "random"}, "survivor"), ({"bands": 1000, "rows": 100}, "65536"), ({"seed": -1}, "seed"),
])
def test_invalid_parameters_raise(kwargs, field):
    with pytest.raises(ValueError, match=field):
        MinhashDedup(**kwargs)


def test_s_curve_matches_spec_table():
    # docs/rules.md, Deduplication: 450×20 → 0.995 at 0.8; 14×8 → 0.924 at 0.8, 0.988 at 0.85
    assert round(probability(0.8, 450, 20), 3) == 0.995
    assert round(probability(0.8, 14, 8), 3) == 0.924
    assert round(probability(0.85, 14, 8), 3) == 0.988


def test_fingerprint_names_every_signature_input():
    base = MinhashDedup().fingerprint()
    for changed in (MinhashDedup(seed=2), MinhashDedup(ngram=4), MinhashDedup(normalize_digits=True),
                    MinhashDedup(strip_accents=True), MinhashDedup(preset="fineweb")):
        assert changed.fingerprint() != base
    assert MinhashDedup(verify=False).fingerprint() == base  # verification does not touch signatures


def test_similar_texts_share_bands_and_unrelated_do_not():
    h = MinhashDedup().hasher()
    base = " ".join(f"word{i}" for i in range(400))
    near = base.replace("word200 ", "changed ")
    other = " ".join(f"other{i}" for i in range(400))
    k0, k1, k2 = (set(h.band_keys(h.signature(h.shingle_hashes(t)))) for t in (base, near, other))
    assert len(k0 & k1) > 100 and not k0 & k2


def test_scope_parts_puts_each_file_in_one_part_and_salts_its_band_keys_apart():
    run, parts = MinhashDedup(), MinhashDedup(scope="parts", parts=100)
    assert run.part("a.warc.gz") == 0 and run.band_salt("a.warc.gz") == 0
    files = [f"{i:016x}-CC-MAIN-{i}.warc.gz" for i in range(400)]
    seen = {parts.part(f) for f in files}
    assert seen <= set(range(100)) and len(seen) > 90  # spread over the parts
    assert parts.part(files[0]) == MinhashDedup(scope="parts", parts=100).part(files[0])  # stable
    salts = {parts.band_salt(f) for f in files}
    assert len(salts) == len(seen) and all(0 < s < 1 << 63 for s in salts)  # one per part, keys stay >= 0
    same_part = [f for f in files if parts.part(f) == parts.part(files[0])]
    assert len({parts.band_salt(f) for f in same_part}) == 1


@pytest.mark.parametrize("bad, message", [({"scope": "global"}, "scope must be one of"),
                                          ({"scope": "parts", "parts": 0}, "parts must be in")])
def test_scope_is_validated(bad, message):
    with pytest.raises(ValueError, match=message):
        MinhashDedup(**bad)
