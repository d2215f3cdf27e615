"""The per-session QC report on the demo phantom: every figure a small PNG, failing values marked.

The upstream files are written where the layout says ``bids_session``, ``preprocessed_dwi``
and ``dti_maps`` write them, from the phantom and the domain functions those assets call;
the raw series stands in for the corrected one (preprocessing takes about a minute and the
report only draws it). Motion has one 8 mm jump, above the default 5 mm limit, and a few
failed tensor fits (NaN FA) sit inside the mask.
"""

import base64
import json
import re
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from brainstar.demo.neuro import phantom
from brainstar.domain.neuro import motion, preprocess, reconstruction
from brainstar.domain.neuro import qc_report as pages
from brainstar.domain.neuro.dwi_session import fsl_to_voxel_frame
from brainstar.domain.neuro.masking import brain_mask
from brainstar.domain.neuro.nifti import save_nifti
from platform_assets.neuro.layout import SessionOutputs
from platform_assets.neuro.partitions import neuro_sessions
from platform_assets.neuro.reports import qc_report
from platform_assets.neuro.session_report import write_session_report
from resources import NeuroQcThresholds, Warehouse

KEY = "sub-01_ses-01"
JUMP_MM = 8.0
N_FAILED_FITS = 12
MAX_FIGURE_BYTES = 150_000
FIELDS = {**preprocess.QC_FIELDS, **pages.MAP_FIELDS}
IMAGE = re.compile(r"<img [^>]*src='data:image/png;base64,([A-Za-z0-9+/=]+)'")


def _thresholds(resource: NeuroQcThresholds) -> tuple[dict, dict]:
    return resource.model_dump(), {n: f.description for n, f in type(resource).model_fields.items()}


def _motion_affines(n_volumes: int) -> np.ndarray:
    """Still head, then a JUMP_MM shift along x from the middle volume on: one FD spike."""
    affines = np.tile(np.eye(4), (n_volumes, 1, 1))
    affines[n_volumes // 2 :, 0, 3] = JUMP_MM
    return affines


class Session:
    """The phantom's arrays and what each upstream asset derives from them."""

    def __init__(self) -> None:
        self.spec = phantom.PhantomSpec()
        self.raw, _ = phantom.simulate_dwi(self.spec, np.random.default_rng(7))
        self.bvals, self.bvecs = phantom.acquisition_scheme(self.spec)
        self.affine = phantom.voxel_affine(self.spec)
        self.mask = brain_mask(self.raw, self.bvals)
        self.maps = reconstruction.fit_tensor(self.raw, self.bvals, self.bvecs, self.mask)
        self.fa = self.maps.fa.copy()
        self.fa[tuple(np.argwhere(self.mask)[:: self.mask.sum() // N_FAILED_FITS][:N_FAILED_FITS].T)] = np.nan
        self.v1 = self.maps.v1
        self.affines = _motion_affines(len(self.bvals))
        self.fd = motion.framewise_displacement(self.affines)

    def qc(self) -> preprocess.PreprocessQC:
        b0 = self.raw[..., self.bvals == 0].mean(axis=-1)
        sigma = self.spec.s0 / self.spec.snr
        ndc = preprocess.neighbouring_dwi_correlation(self.raw, self.bvals, self.bvecs, self.mask)
        return preprocess.PreprocessQC(
            fd_mean_mm=float(self.fd.mean()),
            fd_max_mm=float(self.fd.max()),
            ndc_raw=ndc,
            ndc_preprocessed=ndc,
            snr_b0_in_mask=float(np.median(b0[self.mask]) / sigma),
            noise_sigma=sigma,
            mask_voxels=int(self.mask.sum()),
            mask_fraction=float(self.mask.mean()),
            denoising="applied",
            unringing="applied",
            mask_method="whole_head",
            mask_note="median-Otsu on the mean b0",
            motion_correction="applied",
            motion_targets="b0_template: 3, tensor_prediction: 30",
            n_volumes_motion_corrected=33,
            n_volumes_motion_no_gain=0,
            n_volumes_motion_rejected=0,
        )

    def data(self) -> pages.SessionQcData:
        return pages.SessionQcData(
            raw=self.raw,
            preprocessed=self.raw,
            mask=self.mask,
            bvals=self.bvals,
            bvecs=self.bvecs,
            fa=self.fa,
            v1=self.v1,
            framewise_displacement_mm=self.fd,
        ).in_ras(self.affine)

    def rows(self, resource: NeuroQcThresholds) -> tuple[list[pages.QcRow], list[pages.Limit]]:
        values = {**asdict(self.qc()), **pages.map_values(self.fa, self.maps.md, self.mask)}
        bound, unbound = pages.bind_limits(*_thresholds(resource), FIELDS)
        return pages.qc_rows(values, FIELDS, bound), unbound

    def write(self, warehouse: Warehouse) -> None:
        outputs = SessionOutputs(warehouse, KEY)
        fsl_bvecs = fsl_to_voxel_frame(self.bvecs, self.affine)
        target = outputs.bids
        save_nifti(self.raw, self.affine, target.path(".nii.gz"))
        phantom.write_fsl_gradients(self.bvals, fsl_bvecs, target.path(".bval"), target.path(".bvec"))
        save_nifti(self.raw, self.affine, outputs.preprocessed("dwi.nii.gz"))
        save_nifti(self.mask.astype(np.uint8), self.affine, outputs.preprocessed("mask.nii.gz"))
        phantom.write_fsl_gradients(
            self.bvals, fsl_bvecs, outputs.preprocessed("dwi.bval"), outputs.preprocessed("dwi.bvec")
        )
        columns = ["trans_x_mm", "trans_y_mm", "trans_z_mm", "rot_x_rad", "rot_y_rad", "rot_z_rad"]
        pd.DataFrame(motion.rigid_parameters(self.affines), columns=columns).assign(
            framewise_displacement_mm=self.fd
        ).to_csv(outputs.preprocessed("motion.csv"), index_label="volume")
        outputs.preprocessed("qc.json").write_text(json.dumps(asdict(self.qc())))
        for name, values in {"fa": self.fa, "md": self.maps.md, "v1": self.v1}.items():
            save_nifti(values, self.affine, outputs.dti_map(name), time_unit="unknown")


@pytest.fixture(scope="module")
def session() -> Session:
    return Session()


@pytest.fixture(scope="module")
def page(session: Session) -> str:
    rows, unbound = session.rows(NeuroQcThresholds())
    return pages.build_session_report_html(KEY, session.data(), rows, unbound)


def _assert_small_png(png: bytes, limit: int = MAX_FIGURE_BYTES) -> None:
    assert png.startswith(pages.PNG_SIGNATURE)
    assert len(png) < limit


def _row(page: str, metric: str) -> str:
    return re.search(rf"<tr class='(\w+)'><td>{metric}</td>.*?</tr>", page).group(0)


def test_every_figure_is_an_inline_small_png(page: str) -> None:
    images = IMAGE.findall(page)
    assert len(images) == 5 == page.count("<img ")
    for encoded in images:
        _assert_small_png(base64.b64decode(encoded))


def test_key_figure_is_a_small_png(session: Session) -> None:
    png = pages.key_figure_png(session.data(), 5.0)
    _assert_small_png(png)
    assert len(pages.png_data_uri(png)) < 200_000


def test_value_over_its_limit_is_marked_failing(page: str) -> None:
    fd_row = _row(page, "fd_max_mm")
    assert (
        fd_row.startswith("<tr class='fail'>")
        and "≤ 5 (max_framewise_displacement_mm)" in fd_row
        and "FAIL" in fd_row
    )
    assert _row(page, "mask_fraction").startswith("<tr class='pass'>")
    assert "1 QC value(s) outside their limits: fd_max_mm" in page
    # A threshold that bounds none of the report's values is still listed.
    assert "<td>outlier_robust_z</td>" in page


def test_a_stricter_or_looser_limit_moves_the_verdict(session: Session) -> None:
    rows, _ = session.rows(NeuroQcThresholds(max_framewise_displacement_mm=JUMP_MM + 1))
    assert {r.metric: r.passed for r in rows}["fd_max_mm"] is True
    rows, _ = session.rows(NeuroQcThresholds(mask_fraction_max=0.1))
    assert {r.metric: r.passed for r in rows}["mask_fraction"] is False


def test_limits_bind_to_the_value_they_name() -> None:
    limits = {
        "max_framewise_displacement_mm": 5.0,
        "mask_fraction_min": 0.05,
        "ndc_preprocessed_min": 0.6,
        "fa_median_in_mask_max": 0.9,
        "outlier_robust_z": 3.5,
        "label": "not a number",
    }
    bound, unbound = pages.bind_limits(limits, {}, FIELDS)
    assert {metric: [(lim.name, lim.side) for lim in found] for metric, found in bound.items()} == {
        "fd_max_mm": [("max_framewise_displacement_mm", "max")],
        "mask_fraction": [("mask_fraction_min", "min")],
        "ndc_preprocessed": [("ndc_preprocessed_min", "min")],
        "fa_median_in_mask": [("fa_median_in_mask_max", "max")],
    }
    assert [lim.name for lim in unbound] == ["outlier_robust_z"]


def test_a_nan_value_fails_its_limit() -> None:
    row = pages.QcRow(
        "ndc_preprocessed", float("nan"), "correlation", "", (pages.Limit("x_min", 0.5, "min"),)
    )
    assert row.passed is False
    assert pages.QcRow("noise_sigma", 3.0, "", "").passed is None


def test_failed_fits_show_in_their_own_colour(session: Session) -> None:
    rgb = pages.dec_colours(session.fa, session.v1, session.mask)
    failed = session.mask & np.isnan(session.fa)
    assert failed.sum() == N_FAILED_FITS
    assert np.all(rgb[failed] == pages.NAN_COLOUR)
    assert np.all(rgb[~session.mask] == 0)
    fitted = session.mask & ~failed
    assert np.isfinite(rgb).all() and np.all(rgb[fitted].max(axis=-1) <= session.fa[fitted] + 1e-6)
    assert pages.map_values(session.fa, session.maps.md, session.mask)["fa_nan_in_mask"] == N_FAILED_FITS


def test_a_fit_that_failed_everywhere_still_draws(session: Session) -> None:
    data = replace(session.data(), fa=np.full(session.mask.shape, np.nan, dtype=np.float32))
    _assert_small_png(pages.figure_png(pages.fa_colour_figure(data)))
    assert np.isnan(pages.map_values(data.fa, session.maps.md, session.mask)["fa_median_in_mask"])


def test_rejected_volumes_are_marked_on_the_fd_trace(session: Session) -> None:
    rejected = session.fd > 5.0
    figure = pages.fd_figure(replace(session.data(), rejected=rejected), 5.0)
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert labels == [
        "framewise displacement",
        "limit 5 mm",
        "above the limit",
        "registration rejected (kept at identity)",
    ]


def test_carpet_rows_are_z_scored_per_voxel() -> None:
    series = np.random.default_rng(0).normal(100, 10, (6, 5, 4, 12))
    series[0, 0, 0] = 50.0  # a constant voxel has no spread to divide by
    mask = np.ones(series.shape[:3], dtype=bool)
    rows = pages.carpet_rows(series, mask)
    assert rows.shape == (mask.sum(), 12)
    assert np.isfinite(rows).all() and not rows[0].any()
    varying = rows[np.abs(rows).sum(axis=1) > 0]
    np.testing.assert_allclose(varying.mean(axis=1), 0, atol=1e-9)
    np.testing.assert_allclose(varying.std(axis=1), 1, atol=1e-9)
    large = np.ones((10, 10, 10), dtype=bool)
    assert pages.carpet_rows(np.random.default_rng(1).random((10, 10, 10, 3)), large).shape == (
        pages.CARPET_MAX_ROWS,
        3,
    )


def test_ras_orientation_moves_axes_and_vector_components() -> None:
    # Voxel axes stored as (A, R, S) with R reversed: i runs anterior, j runs left.
    affine = np.array([[0, -2, 0, 0], [3, 0, 0, 0], [0, 0, 4, 0], [0, 0, 0, 1]], dtype=float)
    shape = (2, 3, 4)
    v1 = np.zeros((*shape, 3))
    v1[..., 1] = 1.0  # along voxel j, i.e. left-right
    mask = np.zeros(shape, dtype=bool)
    mask[0, 2, 1] = True
    data = pages.SessionQcData(
        raw=np.zeros((*shape, 2)),
        preprocessed=np.zeros((*shape, 2)),
        mask=mask,
        bvals=np.array([0.0, 1000.0]),
        bvecs=np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
        fa=np.zeros(shape),
        v1=v1,
        framewise_displacement_mm=np.zeros(2),
    ).in_ras(affine)
    assert data.mask.shape == (3, 2, 4) and data.voxel_size_mm == (2.0, 3.0, 4.0)
    assert data.mask[0, 0, 1]  # j = 2 (leftmost) becomes x = 0 once flipped to run rightwards
    np.testing.assert_array_equal(np.abs(data.v1[0, 0, 0]), [1, 0, 0])
    np.testing.assert_array_equal(np.abs(data.bvecs[1]), [0, 1, 0])


# --- the asset, as Dagster runs it --------------------------------------------------------


def materialize_report(warehouse: Warehouse) -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(neuro_sessions.name, [KEY])
        return dg.materialize(
            [qc_report],
            instance=instance,
            partition_key=KEY,
            resources={"warehouse": warehouse, "neuro_qc": NeuroQcThresholds()},
            raise_on_error=False,
        )


@pytest.fixture(scope="module")
def warehouse_root(session: Session, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("qc_report") / "warehouse"
    session.write(Warehouse(root=str(root)))
    return root


def test_asset_writes_the_report_and_links_it(warehouse_root: Path) -> None:
    warehouse = Warehouse(root=str(warehouse_root))
    result = materialize_report(warehouse)
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    path = Path(metadata["report"].value)
    assert path == SessionOutputs(warehouse, KEY).folder("qc_report") / "report.html"
    page = path.read_text()
    assert len(IMAGE.findall(page)) == 5
    assert _row(page, "fd_max_mm").startswith("<tr class='fail'>")
    assert _row(page, "fa_nan_in_mask").count(f"<td>{N_FAILED_FITS}</td>") == 1
    key_figure = metadata["key_figure"].value
    assert key_figure.startswith("![key figure](data:image/png;base64,") and len(key_figure) < 200_000
    _assert_small_png(base64.b64decode(key_figure.split(",", 1)[1].rstrip(")")))
    assert metadata["values_failing"].value == ["fd_max_mm"]
    assert "| fd_max_mm |" in metadata["qc"].value and "FAIL" in metadata["qc"].value
    assert not [p for p in path.parent.iterdir() if ".tmp-" in p.name]


def test_asset_names_a_missing_upstream_file(warehouse_root: Path, tmp_path: Path) -> None:
    shutil.copytree(warehouse_root, tmp_path / "warehouse")
    warehouse = Warehouse(root=str(tmp_path / "warehouse"))
    SessionOutputs(warehouse, KEY).dti_map("v1").unlink()
    result = materialize_report(warehouse)
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.error.message
    assert "dti_maps/sub-01_ses-01/v1.nii.gz" in message


def test_the_preprocessing_report_needs_no_tensor_maps(warehouse_root: Path, tmp_path: Path) -> None:
    """What preprocessed_dwi writes, so a session its own gates stop still shows its figures."""
    shutil.copytree(warehouse_root, tmp_path / "warehouse")
    outputs = SessionOutputs(Warehouse(root=str(tmp_path / "warehouse")), KEY)
    shutil.rmtree(outputs.dti_map("fa").parent)
    metadata = write_session_report(
        outputs, NeuroQcThresholds(), outputs.preprocessed("report.html"), with_tensor=False
    )
    page = Path(metadata["report"].value).read_text()
    assert len(IMAGE.findall(page)) == 4 and "Direction-encoded FA" not in page
    assert metadata["values_failing"].value == ["fd_max_mm"]


@pytest.mark.parametrize(("method", "failing"), [("whole_head", ["mask_fraction"]), ("inside_brain", [])])
def test_the_coverage_ceiling_holds_around_a_whole_head_only(
    warehouse_root: Path, tmp_path: Path, method: str, failing: list[str]
) -> None:
    """As the mask_coverage_plausible gate: a crop inside the brain is nearly all brain."""
    shutil.copytree(warehouse_root, tmp_path / "warehouse")
    outputs = SessionOutputs(Warehouse(root=str(tmp_path / "warehouse")), KEY)
    qc_file = outputs.preprocessed("qc.json")
    note = f"{method}: how the mask was made"
    qc_file.write_text(
        json.dumps(
            {
                **json.loads(qc_file.read_text()),
                "mask_fraction": 0.9,
                "mask_method": method,
                "mask_note": note,
            }
        )
    )
    metadata = write_session_report(outputs, NeuroQcThresholds(), tmp_path / "report.html", with_tensor=False)
    assert [m for m in metadata["values_failing"].value if m != "fd_max_mm"] == failing
    page = (tmp_path / "report.html").read_text()
    assert "<h2>How each stage ran</h2>" in page and f"<td>{note}</td>" in page
