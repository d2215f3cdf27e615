"""The DICOM header reader on real scanner files that pydicom ships (not written by us).

pydicom's test data holds a real MR slice in several transfer syntaxes and a copy whose pixel
data is cut short. None is a diffusion series: the inventory must say that dcm2niix found no
gradients in it, and the cut file must fail naming itself and the problem, never with a bare
pydicom or struct error. Real vendor diffusion files (nibabel's) are in test_vendor_dicom.py.
"""

import shutil
import warnings
from pathlib import Path

import pytest

from brainstar.domain.neuro.dicom_headers import inspect_dicom_series
from brainstar.domain.neuro.dwi_session import SessionInputError


def real_file(name: str) -> Path:
    from pydicom.data import get_testdata_file

    with warnings.catch_warnings():
        # pydicom also looks for downloadable files; these ship with the wheel.
        warnings.simplefilter("ignore", UserWarning)
        path = get_testdata_file(name)
    assert path is not None, f"pydicom no longer ships {name}"
    return Path(path)


def landed(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "dicom"
    folder.mkdir()
    shutil.copy(real_file(name), folder / name)
    return folder


@pytest.mark.parametrize(
    "name",
    ["MR_small.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_RLE.dcm"],
)
def test_a_real_structural_slice_is_reported_as_not_diffusion(tmp_path: Path, name: str) -> None:
    inventory = inspect_dicom_series(landed(tmp_path, name))
    assert (inventory.n_files, inventory.manufacturer) == (1, "TOSHIBA_MEC")
    assert inventory.gradient_sources == {}
    assert inventory.converted is None
    assert len(inventory.issues) == 1
    assert inventory.issues[0].startswith(
        "conversion failed: dcm2niix wrote no .bval, .bvec (no diffusion gradients found?)"
    )


def test_a_real_file_with_truncated_pixel_data_fails_naming_it(tmp_path: Path) -> None:
    folder = landed(tmp_path, "MR_truncated.dcm")
    with pytest.raises(SessionInputError, match=r"MR_truncated\.dcm: pixel data truncated"):
        inspect_dicom_series(folder)
