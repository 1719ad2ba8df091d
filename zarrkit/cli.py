"""The ``zarrkit`` command: a thin shell over :mod:`zarrkit.api`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zarrkit import Array, api
from zarrkit.errors import ReferenceError, StoreError, ZarrkitError
from zarrkit.refs import ReferenceSet, merge, prefixed, save_refs
from zarrkit.refs.check import check_refs
from zarrkit.scan import FORMATS, scan_many
from zarrkit.scan.combine import combine
from zarrkit.scan.combine_coords import coordinate_source_from_text
from zarrkit.scan.output import ReferenceBuilder
from zarrkit.storage.presign import presign_to_file


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``zarrkit`` command with ``argv`` (default: the process arguments); returns the exit code."""
    parser = argparse.ArgumentParser(prog="zarrkit", description="Zarr v2 and v3 arrays on any storage.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="write and read a few arrays and a group on a local store")
    demo.add_argument("--dir", default="demo-data", help="where to write (default: ./demo-data)")
    demo.set_defaults(run=_demo)

    tree = commands.add_parser("tree", help="print the hierarchy of a group")
    tree.add_argument("url")
    tree.set_defaults(run=_tree)

    info = commands.add_parser("info", help="describe an array or group")
    info.add_argument("url")
    info.add_argument("--path", default=None)
    info.set_defaults(run=_info)

    presign = commands.add_parser("presign", help="write a reference set of pre-signed URLs for an array or group")
    presign.add_argument("url", help="s3://, gs:// or az:// URL of the array or group")
    presign.add_argument("--expires", type=int, required=True, help="seconds the URLs stay valid")
    presign.add_argument("-o", "--output", required=True, help="the JSON file to write")
    presign.add_argument(
        "--option", action="append", default=[], metavar="NAME=VALUE", help="a storage option (repeatable)"
    )
    presign.set_defaults(run=_presign)

    scan = commands.add_parser("scan", help="scan NetCDF, HDF5, TIFF, MAT or GRIB files into a reference set")
    scan.add_argument("urls", nargs="+", metavar="URL", help="files to scan (paths or URLs)")
    scan.add_argument(
        "-o",
        "--output",
        required=True,
        help="a .json, .json.gz or .json.zst file, or a parquet directory; with several inputs, '{stem}' in it "
        "writes one set per file, otherwise the files are merged, each under its name without extensions",
    )
    scan.add_argument("--format", choices=FORMATS, help="the format of the files (default: from their first bytes)")
    scan.add_argument("--zarr-format", type=int, choices=(2, 3), default=2, help="Zarr version of the metadata")
    scan.add_argument("--workers", type=int, default=None, help="processes scanning at once (default: the cores)")
    scan.add_argument(
        "--option", action="append", default=[], metavar="NAME=VALUE", help="a storage option (repeatable)"
    )
    scan.set_defaults(run=_scan)

    combine_command = commands.add_parser(
        "combine", help="stitch reference sets (one per file) into one, along existing or new dimensions"
    )
    combine_command.add_argument("inputs", nargs="+", metavar="INPUT", help="reference files (JSON or parquet)")
    combine_command.add_argument(
        "--concat-dim", action="append", required=True, metavar="DIM", help="a dimension to concatenate along"
    )
    combine_command.add_argument(
        "--identical-dim", action="append", default=[], metavar="NAME", help="a variable that must be identical"
    )
    combine_command.add_argument(
        "--coord",
        action="append",
        default=[],
        metavar="DIM=SOURCE",
        help="where DIM's values come from: data, data:VARIABLE, attr:NAME, attr:VARIABLE:NAME, regex:PATTERN "
        "(on the input's URL) or values:V1,V2,...",
    )
    combine_command.add_argument("-o", "--output", required=True, help="a parquet directory or a .json file")
    combine_command.add_argument("--record-size", type=int, default=100_000, help="chunks per parquet record file")
    combine_command.add_argument("--zarr-format", type=int, choices=(2, 3), default=None)
    combine_command.set_defaults(run=_combine)

    refs_commands = commands.add_parser("refs", help="work with reference sets").add_subparsers(
        dest="refs_command", required=True
    )
    check = refs_commands.add_parser(
        "check", help="check that every target of a reference set exists and holds its ranges (exit 1 if not)"
    )
    check.add_argument("refs", help="a .json/.json.gz/.json.zst reference file or a parquet reference directory")
    check.add_argument("--decode", action="store_true", help="also read and decode every chunk")
    check.add_argument("--default-target", default=None, help="the URL of references that name none")
    check.add_argument(
        "--target-options",
        type=json.loads,
        default=None,
        metavar="JSON",
        help='storage options per target protocol, e.g. \'{"s3": {"anonymous": true}}\'',
    )
    check.add_argument("--show", type=int, default=20, metavar="N", help="print at most N problems (default 20)")
    check.set_defaults(run=_refs_check)

    arguments = parser.parse_args(argv)
    try:
        return arguments.run(arguments) or 0
    except ZarrkitError as error:
        print(f"zarrkit: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


def _timed(label: str, action: Callable[[], Any], nbytes: int | None = None) -> Any:
    start = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - start
    rate = f"  {nbytes / seconds / 2**20:8.1f} MiB/s" if nbytes else ""
    print(f"  {label:<52} {seconds * 1000:8.1f} ms{rate}")
    return result


def _demo(arguments: argparse.Namespace) -> None:
    root = Path(arguments.dir)
    # Each group is opened with mode "w", which clears that store only: whatever else is in the
    # directory stays.
    for zarr_format in (3, 2):
        _demo_group(root / f"climate-v{zarr_format}.zarr", zarr_format)
    print("done")


def _demo_group(store: Path, zarr_format: int) -> None:
    """Write and read a group of arrays in one Zarr format, printing each step with its timing."""
    rng = np.random.default_rng(42)
    temperature = (rng.standard_normal((2048, 2048)) * 10 + 280).astype("float32")
    print(f"Zarr v{zarr_format} group at {store}")
    group = api.open_group(str(store), mode="w", zarr_format=zarr_format, attributes={"title": "zarrkit demo"})
    array = _timed(
        "create 'temperature' (2048x2048 float32, 256x256 chunks)",
        lambda: group.create_array(
            "temperature", shape=temperature.shape, dtype="float32", chunks=(256, 256),
            fill_value=float("nan"), attributes={"units": "K"}, dimension_names=("y", "x"),
        ),
    )
    _timed("write temperature", lambda: array.__setitem__(..., temperature), temperature.nbytes)
    read = _timed("read temperature", lambda: array[...], temperature.nbytes)
    window = _timed("read a 10% window", lambda: array[100:747, 200:847])
    if not (np.array_equal(read, temperature) and np.array_equal(window, temperature[100:747, 200:847])):
        raise ZarrkitError("the demo read back different values than it wrote")
    if zarr_format == 3:
        _demo_sharded(group, rng)
    _timed("consolidate metadata", lambda: api.consolidate_metadata(str(store)))
    print("  tree:")
    for line in api.open_group(str(store), mode="r").tree().splitlines():
        print("    " + line)


def _demo_sharded(group: Any, rng: np.random.Generator) -> None:
    labels = rng.integers(0, 16, size=(4096, 4096), dtype="uint8")
    array = _timed(
        "create sharded 'labels' (4096x4096 uint8, 64x64 in 1024x1024 shards)",
        lambda: group.create_array("labels", shape=labels.shape, dtype="uint8", chunks=(64, 64), shards=(1024, 1024)),
    )
    _timed("write labels", lambda: array.__setitem__(..., labels), labels.nbytes)
    _timed("read labels", lambda: array[...], labels.nbytes)
    rows, columns = rng.integers(0, 4096, 1000), rng.integers(0, 4096, 1000)
    points = _timed("read 1000 points with vindex", lambda: array.vindex[rows, columns])
    if not np.array_equal(points, labels[rows, columns]):
        raise ZarrkitError("the demo read back different points than it wrote")


def _tree(arguments: argparse.Namespace) -> None:
    node = api.open(arguments.url, mode="r")
    print(node.tree() if not isinstance(node, Array) else repr(node))


def _info(arguments: argparse.Namespace) -> None:
    node = api.open(arguments.url, mode="r", path=arguments.path)
    print(repr(node))
    if isinstance(node, Array):
        print(f"  shape={node.shape} chunks={node.chunks} shards={node.shards} dtype={node.dtype}")
        print(f"  fill_value={node.fill_value!r} order={node.order}")
    for key, value in node.attrs.items():
        print(f"  {key}: {value!r}")


def _options(pairs: Sequence[str]) -> dict[str, str]:
    options = {}
    for option in pairs:
        name, equals, value = option.partition("=")
        if not equals or not name:
            raise StoreError(f"--option {option!r} must look like NAME=VALUE")
        options[name] = value
    return options


def _presign(arguments: argparse.Namespace) -> None:
    options = _options(arguments.option)
    refs = presign_to_file(arguments.url, arguments.output, expires=arguments.expires, storage_options=options)
    print(f"wrote {len(refs['refs'])} references to {arguments.output}")


def _progress_bar(label: str) -> Callable[[int, int, str], None]:
    """A progress callback that redraws one line on stderr: ``label [#####.....] done/total``."""

    def show(done: int, total: int, item: str) -> None:
        width = 30
        filled = width * done // total
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _scan(arguments: argparse.Namespace) -> int:
    results = scan_many(
        arguments.urls,
        workers=arguments.workers,
        progress=_progress_bar("scanning"),
        format=arguments.format,
        zarr_format=arguments.zarr_format,
        storage_options=_options(arguments.option),
    )
    if results.references:
        outputs = _scan_outputs(results.references, arguments.output, arguments.zarr_format)
        for output, references in outputs.items():
            save_refs(references, output)
        costs = results.costs.values()
        print(
            f"scanned {len(results.references)} files ({sum(cost.requests for cost in costs)} requests, "
            f"{sum(cost.bytes_read for cost in costs) / 2**20:.1f} MiB read); wrote {', '.join(outputs)}"
        )
    for url, error in results.failures.items():
        print(f"failed: {url}: {type(error).__name__}: {error}", file=sys.stderr)
    return 1 if results.failures else 0


def _scan_outputs(references: dict[str, ReferenceSet], output: str, zarr_format: int) -> dict[str, ReferenceSet]:
    """The reference set to write to each output: one per input when ``output`` holds ``{stem}``,
    else a single one in which each input is a group named after its file."""
    stems = {url: Path(url.rstrip("/")).name.split(".")[0] for url in references}
    if len(set(stems.values())) < len(stems):
        raise StoreError("two inputs have the same file name without extensions; name the outputs with '{stem}'")
    if "{stem}" in output:
        return {output.replace("{stem}", stems[url]): refs for url, refs in references.items()}
    if len(references) == 1:
        return {output: next(iter(references.values()))}
    root = ReferenceBuilder(zarr_format=zarr_format)
    root.add_group("")
    return {output: merge(root.references, *(prefixed(refs, stems[url] + "/") for url, refs in references.items()))}


def _combine(arguments: argparse.Namespace) -> None:
    coords = {}
    for pair in arguments.coord:
        dimension, equals, source = pair.partition("=")
        if not equals or not dimension:
            raise ReferenceError(f"--coord {pair!r} must look like DIM=SOURCE")
        coords[dimension] = coordinate_source_from_text(source)
    combined = combine(
        arguments.inputs,
        concat_dims=arguments.concat_dim,
        identical_dims=arguments.identical_dim,
        coords=coords,
        output=arguments.output,
        record_size=arguments.record_size,
        zarr_format=arguments.zarr_format,
    )
    print(f"combined {len(arguments.inputs)} inputs into {arguments.output} ({combined!r})")


def _refs_check(arguments: argparse.Namespace) -> int:
    report = check_refs(
        arguments.refs,
        default_target=arguments.default_target,
        target_options=arguments.target_options,
        decode=arguments.decode,
    )
    print(f"{report.keys} keys, {report.references} references into {report.targets} targets")
    for problem in report.problems[: arguments.show]:
        where = f" (target {problem.target})" if problem.target else ""
        print(f"{problem.key}{where}: {problem.message}")
    if len(report.problems) > arguments.show:
        print(f"... and {len(report.problems) - arguments.show} more problems")
    print("ok" if report.ok else f"{len(report.problems)} problems")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
