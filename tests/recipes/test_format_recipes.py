"""Recipes for PDF, Excel, Markdown and music files, run on real files made here with the same libraries."""

import csv

from mutagen.easyid3 import EasyID3
from openpyxl import Workbook, load_workbook
from PIL import Image
from pypdf import PdfReader, PdfWriter
from recipe_helpers import names, snapshot

MP3_FRAME = b"\xff\xfb\x90\x00" + bytes(413)  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417 bytes


def pdf(path, widths):
    """A PDF whose pages are told apart by their widths."""
    writer = PdfWriter()
    for width in widths:
        writer.add_blank_page(width=width, height=200)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        writer.write(out)
    return path


def widths(path):
    return [int(page.mediabox.width) for page in PdfReader(path).pages]


def song(path, **tags):
    path.write_bytes(MP3_FRAME * 8)
    id3 = EasyID3()
    id3.update(tags)
    id3.save(path)
    return path


def test_merge_pdfs_in_the_order_given(tmp_path, run_tool):
    a, b = pdf(tmp_path / "in" / "b.pdf", [100, 101]), pdf(tmp_path / "in" / "a.pdf", [200])
    run_tool("merge-pdfs", a, b, "--output", tmp_path / "both.pdf")
    assert widths(tmp_path / "both.pdf") == [100, 101, 200]
    run_tool("merge-pdfs", tmp_path / "in", "--output", tmp_path / "folder.pdf")
    assert widths(tmp_path / "folder.pdf") == [200, 100, 101]
    (tmp_path / "in" / "fake.pdf").write_text("not a pdf")
    bad = run_tool("merge-pdfs", tmp_path / "in", "--output", tmp_path / "x.pdf", check=False)
    assert bad.returncode == 2 and "fake.pdf is not a readable PDF" in bad.stderr and not (tmp_path / "x.pdf").exists()
    taken = run_tool("merge-pdfs", a, "--output", tmp_path / "both.pdf", check=False)
    assert taken.returncode == 2 and "already exists" in taken.stderr


def test_split_pdf_into_pages_and_parts(tmp_path, run_tool):
    source = pdf(tmp_path / "report.pdf", [101, 102, 103, 104, 105])
    before = snapshot(tmp_path)
    run_tool("split-pdf", source, tmp_path / "pages", "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("split-pdf", source, tmp_path / "pages")
    assert sorted(p.name for p in (tmp_path / "pages").iterdir()) == [f"report-00{n}.pdf" for n in range(1, 6)]
    assert widths(tmp_path / "pages" / "report-004.pdf") == [104]
    run_tool("split-pdf", source, tmp_path / "parts", "--pages", "2")
    assert [widths(tmp_path / "parts" / f"report-00{n}.pdf") for n in (1, 2, 3)] == [[101, 102], [103, 104], [105]]


def test_extract_pdf_pages_by_ranges(tmp_path, run_tool):
    source = pdf(tmp_path / "report.pdf", [101, 102, 103, 104, 105, 106, 107])
    run_tool("extract-pdf-pages", source, "--pages", "3-5", "--output", tmp_path / "middle.pdf")
    assert widths(tmp_path / "middle.pdf") == [103, 104, 105]
    run_tool("extract-pdf-pages", source, "--pages", "7,1, 6-", "--output", tmp_path / "mixed.pdf")
    assert widths(tmp_path / "mixed.pdf") == [107, 101, 106, 107]
    bad = run_tool("extract-pdf-pages", source, "--pages", "5-9", "--output", tmp_path / "bad.pdf", check=False)
    assert bad.returncode == 2 and "outside 1-7" in bad.stderr
    assert widths(source) == [101, 102, 103, 104, 105, 106, 107]


def test_csv_to_excel_beside_the_input_with_numbers(tmp_path, run_tool):
    source = tmp_path / "sales.csv"
    source.write_text("id;amount;price;name\n007;3;1.5;ann\n8;-2;.25;bob\n")
    run_tool("csv-to-excel", source)
    sheet = load_workbook(tmp_path / "sales.xlsx").active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["id", "amount", "price", "name"], ["007", 3, 1.5, "ann"], [8, -2, 0.25, "bob"]
    ]
    assert sheet["A1"].font.bold
    again = run_tool("csv-to-excel", source, check=False)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_excel_to_csv_one_file_per_sheet(tmp_path, run_tool):
    workbook = Workbook()
    workbook.active.title = "Jan"
    workbook.active.append(["name", "total"])
    workbook.active.append(["ann", 3])
    totals = workbook.create_sheet("Totals (all)")
    totals.append(["sum", 3])
    workbook.save(tmp_path / "report.xlsx")
    run_tool("excel-to-csv", tmp_path / "report.xlsx")
    assert {"report-Jan.csv", "report-Totals_all_.csv"} <= names(tmp_path)
    assert list(csv.reader((tmp_path / "report-Jan.csv").open(newline=""))) == [["name", "total"], ["ann", "3"]]
    (tmp_path / "out").mkdir()
    run_tool("excel-to-csv", tmp_path / "report.xlsx", "--sheet", "Jan", "--output-dir", tmp_path / "out", "--delimiter", ";")
    assert (tmp_path / "out" / "report.csv").read_bytes() == b"name;total\r\nann;3\r\n"
    bad = run_tool("excel-to-csv", tmp_path / "report.xlsx", "--sheet", "Feb", check=False)
    assert bad.returncode == 2 and "Jan" in bad.stderr


def test_markdown_to_html_pages(tmp_path, run_tool):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("# My *notes*\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>x</script>\n")
    run_tool("markdown-to-html", tmp_path / "notes")
    page = (tmp_path / "notes" / "README.html").read_text()
    assert "<title>My *notes*</title>" in page and "<h1>My <em>notes</em></h1>" in page
    assert "<td>1</td>" in page and "<script>" not in page and "&lt;script&gt;" in page
    skipped = run_tool("markdown-to-html", tmp_path / "notes" / "README.md")
    assert "pass --overwrite" in skipped.stderr
    run_tool("markdown-to-html", tmp_path / "notes" / "README.md", "--overwrite", "--raw-html")
    assert "<script>x</script>" in (tmp_path / "notes" / "README.html").read_text()


def test_rename_music_by_tags(tmp_path, run_tool):
    song(tmp_path / "track01.mp3", artist="Nina Simone", title="Feeling Good", tracknumber="3/12", album="I Put a Spell")
    song(tmp_path / "x.mp3", artist="AC/DC", title="T.N.T.")
    song(tmp_path / "untitled.mp3", artist="Someone")
    (tmp_path / "cover.jpg").write_bytes(b"jpg")
    before = snapshot(tmp_path)
    run_tool("rename-music-by-tags", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    result = run_tool("rename-music-by-tags", tmp_path)
    assert "skipped untitled.mp3: no title tag" in result.stdout
    assert names(tmp_path) == {"Nina Simone - Feeling Good.mp3", "AC_DC - T.N.T.mp3", "untitled.mp3", "cover.jpg"}
    run_tool("rename-music-by-tags", tmp_path, "--pattern", "{track} {title}")
    assert "03 Feeling Good.mp3" in names(tmp_path)
    bad = run_tool("rename-music-by-tags", tmp_path, "--pattern", "{genre}", check=False)
    assert bad.returncode == 2 and "genre" in bad.stderr


def test_rotate_photos_by_exif(tmp_path, run_tool):
    image = Image.new("RGB", (60, 40), "white")
    image.paste((255, 0, 0), (0, 0, 12, 12))  # a red top-left corner ends up top-right
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to show
    exif[0x010F] = "TestCam"
    image.save(tmp_path / "sideways.jpg", exif=exif.tobytes(), quality=95)
    Image.new("RGB", (60, 40)).save(tmp_path / "upright.jpg")
    upright_bytes = (tmp_path / "upright.jpg").read_bytes()
    before = snapshot(tmp_path)
    run_tool("rotate-photos-by-exif", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("rotate-photos-by-exif", tmp_path)
    with Image.open(tmp_path / "sideways.jpg") as fixed:
        assert fixed.size == (40, 60)
        assert fixed.getexif().get(0x0112, 1) == 1 and fixed.getexif()[0x010F] == "TestCam"
        red, green, blue = fixed.convert("RGB").getpixel((34, 5))
        assert red > 200 and green < 80
    assert (tmp_path / "upright.jpg").read_bytes() == upright_bytes
