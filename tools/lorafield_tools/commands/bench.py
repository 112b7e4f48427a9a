"""`lorafield bench NAME`: benchmarks that print figures (performance claims live here)."""

import importlib

HELP = "run a benchmark and print its figures"

# Benchmark name -> module in lorafield_tools.bench with add_arguments(parser) and run(args).
BENCHMARKS = {
    "codec": "codec",
    "air": "air",
    "micropython": "micropython",
    "crypto": "crypto",
    "firmware": "firmware",
    "lns": "lns",
    "gateway": "gateway",
    "energy": "energy",
    "integration": "integration",
    "field": "field",
    "workbench": "workbench",
    "boardvm": "boardvm",
    "soak": "soak",
    "console": "console",
    "sensorthings": "sensorthings",
    "conformance": "conformance",
}


def add_arguments(parser):
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", parser_class=type(parser))
    sub.required = True
    for name, module_name in BENCHMARKS.items():
        module = importlib.import_module(f"lorafield_tools.bench.{module_name}")
        bench = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(bench)
        bench.set_defaults(_bench=module.run)


def run(args):
    return args._bench(args)
