#!/usr/bin/env python3
"""Write the fuzz targets' seed corpora (fuzz/corpus/<target>/seed-*): small valid inputs of
each format and a few near misses, so the fuzzer starts from the formats' structure."""
import hashlib, json, os, struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus")

def write(target, name, data):
    with open(os.path.join(root, target, "seed-" + name), "wb") as f:
        f.write(data)

def bundle(parts, version=3):
    header = json.dumps({"format_version": version, "parts": [{"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in parts]}, separators=(",", ":")).encode()
    return b"POCKETRANK-BNDL\n" + struct.pack("<I", len(header)) + header + b"".join(d for _, d in parts)

config = json.dumps({"item": {"n_items": 2, "vocab_size": 8, "d_model": 4, "max_title_tokens": 4},
                     "session": {"d_model": 4, "n_heads": 2, "n_layers": 1, "d_ff": 8, "max_events": 4, "dropout": 0.0},
                     "head": {"d_model": 4, "repeat_log_odds": 0.0, "transition_weight": 0.0}}).encode()
parts = [("config.json", config), ("weights.bpk", b"\0" * 16), ("tokenizer.json", b"{}"), ("catalog.txt", b"a\nb")]
full = bundle(parts)
write("bundle", "small", full)
write("bundle", "truncated", full[:-3])
write("bundle", "version9", bundle(parts, 9))
write("bundle", "transitions", bundle(parts + [("transitions.bin", struct.pack("<I", 3) + bytes([0, 1, 2, 200, 0]))]))

def state(head, events):
    body = b"PRSTATE\n" + struct.pack("<I", 1) + bytes(32) + struct.pack("<I", len(head)) + b"".join(struct.pack("<f", x) for x in head)
    ev = json.dumps(events).encode()
    body += struct.pack("<I", len(ev)) + ev
    return body + hashlib.sha256(body).digest()

write("state", "valid", state([1.0, -2.5, 3.25], [{"itemId": "a", "type": "cart", "ts": 3.0, "title": "A"}]))
write("state", "empty", state([], []))

requests = {
    "candidates": [{"id": "1", "title": "Zelda", "serverScore": 2.5}, {"id": 7, "title": "", "price": 9.5}],
    "event": {"itemId": "3", "type": "cart", "ts": 5, "title": "Mario"},
    "options": {"serverOrder": False},
    "learning": {"enabled": True, "steps": 3, "learningRate": 0.05, "every": 2},
    "privacy": {"clip": 0.5, "epsilon": 0.5, "delta": 1e-6},
    "duplicate": [{"id": "1", "title": "a"}, {"id": "1", "title": "b"}],
}
for name, value in requests.items():
    write("request", name, json.dumps(value).encode())

table = struct.pack("<I", 4) + bytes([0, 2, 2, 170, 3, 85, 1, 3, 255, 0])
write("transitions", "valid", bytes([4]) + table)
write("transitions", "leb128", bytes([200]) + struct.pack("<I", 200) + bytes([0, 1, 0x81, 0x01, 9]) + bytes(198))
