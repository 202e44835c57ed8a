# Prints what llama.cpp's own gguf-py GGUFReader sees in a GGUF file, as JSON (used by GgufPyAcceptanceTest).
import hashlib, json, sys
from gguf import GGUFReader, GGUFValueType

reader = GGUFReader(sys.argv[1])
fields = {}
for name, field in reader.fields.items():
    if name.startswith("GGUF."):
        continue  # the reader's pseudo-fields for the header
    types = [t.name for t in field.types]
    entry = {"types": types}
    if not (types[0] == "ARRAY" and len(types) > 1 and types[1] == "ARRAY"):
        entry["value"] = field.contents()  # gguf-py flattens nested arrays, so only their types are compared
    fields[name] = entry
tensors = []
for t in reader.tensors:
    tensors.append({
        "name": t.name,
        "type": t.tensor_type.name,
        "shape": [int(d) for d in t.shape],
        "offset": int(t.data_offset),
        "bytes": int(t.n_bytes),
        "sha256": hashlib.sha256(t.data.tobytes()).hexdigest(),
    })
print(json.dumps({"alignment": int(reader.alignment), "data_offset": int(reader.data_offset),
                  "fields": fields, "tensors": tensors}))
