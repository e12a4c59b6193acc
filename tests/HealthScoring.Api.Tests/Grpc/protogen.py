"""Generates python message classes from the repository's protos/ for the python3-grpcio test clients.

Debian's protoc matches python3-protobuf; the well-known types the protos import come from the python package's
own descriptors (passed as a descriptor set), so no other include path is needed. Exit code 3 when protoc is missing.
"""

import os
import shutil
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


def generate(client, protos, well_known_modules):
    """Compiles PROTOS (paths under protos/) into a temporary folder put first on sys.path."""
    protoc = shutil.which("protoc")
    if protoc is None:
        print(f"{client}: protoc not found. Run `bash scripts/test-deps.sh`.", file=sys.stderr)
        sys.exit(3)
    out = tempfile.mkdtemp(prefix=f"hs-{client}-py-")
    wkt = descriptor_pb2.FileDescriptorSet()
    for module in well_known_modules:
        module.DESCRIPTOR.CopyToProto(wkt.file.add())
    wkt_path = os.path.join(out, "wkt.pb")
    with open(wkt_path, "wb") as f:
        f.write(wkt.SerializeToString())
    subprocess.run([protoc, f"--descriptor_set_in={wkt_path}", f"-I{os.path.join(REPO, 'protos')}", f"--python_out={out}", *protos], check=True)
    sys.path.insert(0, out)
