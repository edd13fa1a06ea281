"""A trained peft LoRA as a GGUF adapter that llama.cpp loads on the embedded base file.

The converter is llama.cpp's own ``convert_lora_to_gguf.py``, which ships (with the
``conversion`` package and ``gguf-py`` it imports) in the sdist of the installed
llama-cpp-python. The first export fetches that sdist from the package index once and keeps
the three pieces under ``<cache>/llama-cpp-convert/<version>/``. ``--base`` points at a folder
with the base model's ``config.json`` (saved from the GGUF-loaded model), so nothing is looked
up on a model hub. The adapter is written to a temporary file, loaded once by llama.cpp as a
check, and only then renamed into place: an interrupted or broken export leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from lance.assets import default_cache_dir
from lance.errors import ModelFileError

log = logging.getLogger(__name__)

_PIECES = ("convert_lora_to_gguf.py", "convert_hf_to_gguf.py", "conversion/", "gguf-py/")


def converter_dir() -> Path:
    """The folder holding llama.cpp's LoRA converter for the installed llama-cpp-python (fetched once)."""
    version = metadata.version("llama-cpp-python")
    target = default_cache_dir() / "llama-cpp-convert" / version
    if (target / "convert_lora_to_gguf.py").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
               f"llama-cpp-python=={version}", "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        sdists = list(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        if done.returncode != 0 or not sdists:
            raise ModelFileError(
                f"could not fetch the llama-cpp-python {version} sdist for its LoRA converter "
                f"(`{' '.join(cmd[2:])}` failed: {done.stderr.strip()[-300:]}); run it by hand and retry"
            )
        prefix = f"{sdists[0].name[: -len('.tar.gz')]}/vendor/llama.cpp/"
        out = Path(tmp) / "convert"
        with tarfile.open(sdists[0]) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)
                       and any(m.name[len(prefix):].startswith(p) for p in _PIECES)]
            for m in members:
                m.name = m.name[len(prefix):]
            tar.extractall(out, members=members, filter="data")
        if not (out / "convert_lora_to_gguf.py").is_file():
            raise ModelFileError(f"the llama-cpp-python {version} sdist has no convert_lora_to_gguf.py")
        out.rename(target)
    return target


def export_adapter(model: Any, output: Path) -> Path:
    """Save ``model``'s LoRA (a peft model) as an f16 GGUF adapter at ``output``, checked by llama.cpp."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    conv = converter_dir()
    with tempfile.TemporaryDirectory() as tmp:
        adapter, base = Path(tmp) / "adapter", Path(tmp) / "base"
        # provenance in the GGUF's metadata: the base model, not this machine's cache folder
        for cfg in model.peft_config.values():
            cfg.base_model_name_or_path = "google/gemma-3-270m"
        model.save_pretrained(adapter)
        model.get_base_model().config.save_pretrained(base)
        # the GGUF-loaded config says "quantized with gguf"; the adapter itself is plain f32
        cfg_file = base / "config.json"
        cfg = json.loads(cfg_file.read_text())
        cfg.pop("quantization_config", None)
        cfg_file.write_text(json.dumps(cfg, indent=1))
        part = output.with_name(output.name + ".part")
        cmd = [sys.executable, str(conv / "convert_lora_to_gguf.py"), "--base", str(base), "--outtype", "f16",
               "--outfile", str(part), str(adapter)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=conv)
        if done.returncode != 0 or not part.is_file():
            part.unlink(missing_ok=True)
            raise ModelFileError(f"llama.cpp's LoRA converter failed: {done.stderr.strip()[-600:]}")
        try:
            check_adapter(part)
        except ModelFileError:
            part.unlink(missing_ok=True)
            raise
        part.replace(output)
    log.info("wrote %s (%.1f MB)", output, output.stat().st_size / 1e6)
    return output


def check_adapter(path: Path) -> None:
    """Load ``path`` with llama.cpp on the embedded model; a file it cannot use raises ``ModelFileError``."""
    from llama_cpp import Llama

    from lance.assets import default_gguf_path

    if not Path(path).is_file():
        raise ModelFileError(f"refiner adapter not found: {path} (train one with `lance train-refiner`)")
    # llama.cpp logs and ignores an adapter it cannot read, so the file is read here first
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(path))
        meta = {k: reader.fields[k].contents() for k in ("general.type", "adapter.type", "general.architecture")
                if k in reader.fields}
    except Exception as exc:  # noqa: BLE001 - any failure to parse means an unusable file
        raise ModelFileError(f"llama.cpp cannot load the refiner adapter {path}: not a readable GGUF "
                             f"({type(exc).__name__}); retrain it with `lance train-refiner`") from None
    want = {"general.type": "adapter", "adapter.type": "lora", "general.architecture": "gemma3"}
    if meta != want or not reader.tensors:
        raise ModelFileError(f"llama.cpp cannot load the refiner adapter {path}: it is not a Gemma 3 LoRA adapter "
                             f"({meta or 'no adapter metadata'}); retrain it with `lance train-refiner`")
    try:
        llm = Llama(model_path=str(default_gguf_path()), lora_path=str(path), n_ctx=256, n_threads=1, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ModelFileError(f"llama.cpp cannot load the refiner adapter {path}: {exc}") from None
    close = getattr(llm, "close", None)
    if close is not None:
        close()
