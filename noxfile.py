"""The package on each Brian2 version it supports, and as the wheel a user installs.

``nox -s brian2`` runs one session per version that ``setup.cfg`` allows (``nox -s
"brian2(version='2.8.0.4')"`` one of them): ``-e .[test]`` with that Brian2, then the quick
loop (README) and the parity tests of the compiled targets (the rules compiled in
cpp_standalone and checked against SPAIC's recordings; their numpy and cython parity tests are
in the quick loop). ``.ci/run`` runs the sessions of the older versions after the full suite,
which is 2.9.0's. ``nox -s wheel`` builds the wheel (``pip wheel .``), installs it in a fresh
venv and runs the quick loop from a copy of the repository without the package's sources (the
tests import the installed wheel), then ``brian-stdp mnist --train 200`` from a directory
outside the repository. Arguments after ``--`` go to pytest (``nox -s brian2 -- -n 1``). The
parity tests read ``../shared/golden`` or ``$BRIAN_STDP_GOLDEN``, passed through.
"""
import os
import pathlib
import shutil
import subprocess
import tempfile

import nox

nox.options.sessions = ["brian2"]

ROOT = pathlib.Path(__file__).parent.resolve()

#: Brian2 version -> what else that version needs besides the test extra.
BRIAN2 = {
    # Brian2 2.7.1 imports get_cython_cache_dir from Cython.Utils, which Cython 3.1 moved
    # (Brian2 2.8.0 handles both); its cython rand() also needs numpy<2.3, as 2.8.0.4's does.
    "2.7.1": ["numpy<2.3", "cython<3.1"],
    # Brian2 2.7 and 2.8 generate `_numpy.NPY_OWNDATA` in cython's rand(), a name numpy 2.3
    # removed from its Cython declarations (Brian2 2.9.0 uses NPY_ARRAY_OWNDATA).
    "2.8.0.4": ["numpy<2.3"],
    "2.9.0": [],
}

#: The quick loop without the tests of the SPAIC-style dense baseline and of SPAIC itself, which
#: need PyTorch and SPAIC (the bench extra, not installed here) and no Brian2.
QUICK_LOOP = ["-m", "not standalone and not slow", "-k", "not spaic_dense and not spaic_itself"]
COMPILED_PARITY = ["-m", "standalone", "tests/test_trace_rules.py", "tests/test_meta.py",
                   "tests/test_postpre_int.py", "tests/test_drop_in.py"]


def _env():
    golden = os.environ.get("BRIAN_STDP_GOLDEN", str(ROOT.parent / "shared" / "golden"))
    return {"BRIAN_STDP_GOLDEN": golden}


@nox.session(reuse_venv=True)
@nox.parametrize("version", list(BRIAN2))
def brian2(session, version):
    session.install("-e", ".[test]", f"brian2=={version}", *BRIAN2[version])
    session.run("python", "-c", "import brian2, numpy, Cython; print('brian2', "
                "brian2.__version__, 'numpy', numpy.__version__, 'Cython', Cython.__version__)")
    for selection in (QUICK_LOOP, COMPILED_PARITY):
        session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection,
                    *session.posargs, env=_env())


@nox.session
def wheel(session):
    dist = pathlib.Path(session.create_tmp()) / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT))
    (wheel_file,) = dist.glob("brian_stdp-*.whl")
    session.install(f"{wheel_file}[test]")
    work = pathlib.Path(tempfile.mkdtemp(prefix="brian_stdp_wheel_"))
    copy = work / "repository"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if name.split("/")[0] != "brian_stdp" and (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    with session.chdir(copy):
        session.run("python", "-c", "import brian_stdp, sys; "
                    "sys.exit(0 if 'site-packages' in brian_stdp.__file__ else "
                    "f'not the wheel: {brian_stdp.__file__}')")
        session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *QUICK_LOOP,
                    *session.posargs, env=_env())
    outside = work / "job"
    outside.mkdir()
    with session.chdir(outside):
        session.run("brian-stdp", "mnist", "--train", "200", "--out", str(outside / "out"))
    shutil.rmtree(work, ignore_errors=True)
