"""The mark that ``qc-batch sample`` puts on its workbooks, and how a run recognises it.

The mark is one custom document property, ``qc_sample_data`` = ``qc-batch sample``
(Excel: 文件 → 属性 → 自定义). ``qc-batch sample`` stores ``docProps/custom.xml``
uncompressed, so a run recognises a sample by a byte search of the file it has
read anyway, without opening the zip a second time. A sample opened and saved
again in Excel or WPS keeps the property but compressed, and is then read as a
submission like any other (it is no longer the sample as generated).
"""

from __future__ import annotations

import io
import zipfile

CUSTOM_PROPS = "docProps/custom.xml"
PROPERTY = "qc_sample_data"
VALUE = "qc-batch sample"
_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
MARK = f'name="{PROPERTY}"><vt:lpwstr>{VALUE}</vt:lpwstr>'.encode()


def is_sample(content: bytes) -> bool:
    """Whether the bytes of a workbook are a sample as ``qc-batch sample`` wrote it."""
    return MARK in content


def mark(xlsx: bytes) -> bytes:
    """The workbook with the sample property added (``docProps/custom.xml`` written uncompressed)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == CUSTOM_PROPS:
                if MARK not in data:
                    pid = data.count(b"<property ") + 2
                    prop = (f'<property fmtid="{_FMTID}" pid="{pid}" ').encode() + MARK + b"</property>"
                    data = data.replace(b"</Properties>", prop + b"</Properties>", 1)
                info = zipfile.ZipInfo(info.filename, info.date_time)
                info.compress_type = zipfile.ZIP_STORED
            dst.writestr(info, data)
    return out.getvalue()
