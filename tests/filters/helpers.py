"""What the filter tests share: a document from a string, and a verdict checked against
the filter's own ``failing()`` (the first failing rule must be the reported reason)."""
from webrefine.filters.document import Document


def doc(text: str, url: str = "https://example.com/") -> Document:
    return Document(id="d", url=url, text=text)


def checked(stage, text: str):
    verdict = stage(doc(text))
    failed = stage.failing(verdict.signals)
    assert verdict.reason == (failed[0] if failed else None)
    return verdict
