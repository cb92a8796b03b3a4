"""genreg data list | genreg data preview NAME [key=value ...] --out FILE.png"""

from . import print_json, print_table

# how many samples a preview draws from a simulator with an ``n`` parameter, by entry tag
_PREVIEW_N = {"traces": 4, "images": 18, "points": 2000}


def add_parser(sub):
    p = sub.add_parser("data", help="list the data sets and preview them as pictures",
                       description="Built-in simulators (radio, galaxies, ring8, grid25) and loaders for your "
                                   "files (npz:PATH, npy:PATH, images:DIR).")
    actions = p.add_subparsers(dest="data_command", metavar="ACTION")
    actions.required = True

    ls = actions.add_parser("list", help="the registered data sets")
    ls.add_argument("-v", "--verbose", action="store_true", help="also show each data set's parameters and defaults")
    ls.add_argument("--json", action="store_true", help="JSON on stdout")

    pv = actions.add_parser("preview", help="draw a data set into a PNG",
                            description="Traces (noisy vs true, with spectra), an image grid by class, or a "
                                        "scatter of a 2-D mixture with its mode centres.")
    pv.add_argument("name", help="data set: radio, galaxies, ring8, grid25, npz:PATH, npy:PATH, images:DIR")
    pv.add_argument("params", nargs="*", metavar="key=value", help="data-set parameters, e.g. noise=cosine snr=2,5")
    pv.add_argument("--split", default="train", help="train (default), test, or all for file data")
    pv.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    pv.add_argument("--count", type=int, default=None, help="traces, or images per class, to draw")
    pv.add_argument("--out", required=True, help="output PNG file")
    return p


def _parameters(entry) -> list[dict]:
    import inspect

    from ..data import _type_hints, dataset_parameters, type_name

    factory = entry.load()
    hints = _type_hints(factory)
    rows = []
    for key, p in dataset_parameters(factory).items():
        default = None if p.default is inspect.Parameter.empty else p.default
        rows.append({"name": key, "type": type_name(hints.get(key, p.annotation)), "default": default})
    return rows


def _list(args) -> int:
    from .. import list_entries

    entries = list_entries(kind="dataset")
    if args.json:
        out = []
        for e in entries:
            item = e.as_dict()
            if args.verbose:
                item["parameters"] = _parameters(e)
            out.append(item)
        print_json(out)
        return 0
    print_table([[e.name, e.summary, e.plugin] for e in entries], ["NAME", "SUMMARY", "PLUGIN"])
    if args.verbose:
        for e in entries:
            params = ", ".join(f"{p['name']}={p['default']!r}" for p in _parameters(e))
            print(f"\n{e.name}: {params}")
    return 0


def _preview(args) -> int:
    from .. import get_entry
    from ..data import dataset_parameters, load_dataset, parse_assignments, split_spec
    from ..data.preview import save_preview

    params = parse_assignments(args.params)
    name, _ = split_spec(args.name)
    entry = get_entry("dataset", name)
    # simulators: draw only what the picture needs
    if "n" not in params and "n" in dataset_parameters(entry.load()):
        for tag, n in _PREVIEW_N.items():
            if tag in entry.tags:
                if args.count is not None and tag != "points":
                    # traces: count of them; images: count per class (simulators have 3 or fewer)
                    n = args.count if tag == "traces" else 3 * args.count
                params["n"] = str(n)
                break
    dataset = load_dataset(args.name, split=args.split, seed=args.seed, **params)
    shown = " ".join([args.name, *args.params])
    kind = save_preview(dataset, args.out, title=f"{shown} ({args.split}, seed {args.seed})", count=args.count)
    print(f"wrote {args.out}: {kind} of {dataset!r}")
    return 0


def run(args) -> int:
    return _list(args) if args.data_command == "list" else _preview(args)
