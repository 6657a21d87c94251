"""Image recipes run as real programs on JPEGs and PNGs made here with Pillow."""

import os
import re
from datetime import datetime

from recipe_helpers import exif_date, names, photo, snapshot
from PIL import Image
from PIL.ExifTags import IFD


def test_rename_photos_by_date(tmp_path, run_tool):
    photo(tmp_path / "IMG_0001.jpg", "2024:07:14 15:30:12", color="red")
    photo(tmp_path / "IMG_0002.JPG", "2024:07:14 15:30:12", color="blue")  # same second: a burst
    photo(tmp_path / "DSC_9.jpeg", "2023:01:02 03:04:05", color="green")
    photo(tmp_path / "scan.jpg", None)
    (tmp_path / "notes.txt").write_text("not a photo")
    contents = sorted(snapshot(tmp_path).values())

    before = snapshot(tmp_path)
    preview = run_tool("rename-photos-by-date", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    assert "would rename IMG_0001.jpg -> 2024-07-14_15-30-12.jpg" in preview.stdout

    run_tool("rename-photos-by-date", tmp_path)
    assert names(tmp_path) == {
        "2024-07-14_15-30-12.jpg", "2024-07-14_15-30-12-1.jpg", "2023-01-02_03-04-05.jpeg", "scan.jpg", "notes.txt"
    }
    assert sorted(snapshot(tmp_path).values()) == contents  # renamed, never rewritten
    assert exif_date(tmp_path / "2023-01-02_03-04-05.jpeg") == "2023:01:02 03:04:05"

    bad = run_tool("rename-photos-by-date", tmp_path, "--format", "%Y/%m", check=False)
    assert bad.returncode == 2 and "does not make a file name" in bad.stderr

    again = run_tool("rename-photos-by-date", tmp_path)
    assert names(tmp_path) == {
        "2024-07-14_15-30-12.jpg", "2024-07-14_15-30-12-1.jpg", "2023-01-02_03-04-05.jpeg", "scan.jpg", "notes.txt"
    }
    assert "renamed 0 photo(s)" in again.stdout


def test_rename_photos_falls_back_to_file_time_only_when_asked(tmp_path, run_tool):
    scan = photo(tmp_path / "scan.jpg", None)
    stamp = datetime(2020, 2, 29, 8, 15, 0).timestamp()
    os.utime(scan, (stamp, stamp))
    run_tool("rename-photos-by-date", tmp_path)
    assert names(tmp_path) == {"scan.jpg"}
    run_tool("rename-photos-by-date", tmp_path, "--use-file-time", "--format", "%Y%m%d")
    assert names(tmp_path) == {"20200229.jpg"}


def test_sort_files_by_date_uses_exif_then_modification_time(tmp_path, run_tool):
    photo(tmp_path / "beach.jpg", "2021:05:06 10:00:00")
    letter = tmp_path / "letter.txt"
    letter.write_text("dear")
    stamp = datetime(2019, 12, 31, 12, 0).timestamp()
    os.utime(letter, (stamp, stamp))
    before = snapshot(tmp_path)
    run_tool("sort-files-by-date", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("sort-files-by-date", tmp_path)
    assert names(tmp_path) == {"2021/2021-05/beach.jpg", "2019/2019-12/letter.txt"}


def test_sort_files_by_year(tmp_path, run_tool):
    photo(tmp_path / "a.jpg", "2022:03:04 05:06:07")
    run_tool("sort-files-by-date", tmp_path, "--by", "year")
    assert names(tmp_path) == {"2022/a.jpg"}


def test_resize_images_makes_smaller_copies_and_keeps_exif(tmp_path, run_tool):
    photo(tmp_path / "wide.jpg", "2024:01:01 00:00:00", size=(400, 200))
    Image.new("RGB", (100, 50), "blue").save(tmp_path / "small.png")
    before = snapshot(tmp_path)
    run_tool("resize-images", tmp_path, "--max-size", 160, "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("resize-images", tmp_path, "--max-size", 160)
    with Image.open(tmp_path / "resized" / "wide.jpg") as image:
        assert image.size == (160, 80)
    with Image.open(tmp_path / "resized" / "small.png") as image:
        assert image.size == (100, 50)  # never enlarged
    assert exif_date(tmp_path / "resized" / "wide.jpg") == "2024:01:01 00:00:00"
    with Image.open(tmp_path / "wide.jpg") as original:
        assert original.size == (400, 200)
    refused = run_tool("resize-images", tmp_path, "--output", tmp_path, check=False)
    assert refused.returncode == 2 and "originals would be overwritten" in refused.stderr


def test_resize_images_to_a_width_limits_only_the_width(tmp_path, run_tool):
    """'none wider than 800 pixels': a tall image keeps its height up to the width's scale."""
    Image.new("RGB", (400, 1000), "red").save(tmp_path / "tall.png")
    Image.new("RGB", (2000, 100), "red").save(tmp_path / "wide.png")
    run_tool("resize-images", tmp_path, "--width", 300)
    with Image.open(tmp_path / "resized" / "tall.png") as image:
        assert image.size == (300, 750)  # --max-size's 1600 does not apply once a width is given
    with Image.open(tmp_path / "resized" / "wide.png") as image:
        assert image.size == (300, 15)
    run_tool("resize-images", tmp_path, "--height", 500, "--output", tmp_path / "by-height")
    with Image.open(tmp_path / "by-height" / "tall.png") as image:
        assert image.size == (200, 500)


def test_convert_images_png_to_jpg_on_white(tmp_path, run_tool):
    image = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 8, 16))
    image.save(tmp_path / "logo.png")
    Image.new("RGB", (5, 5)).save(tmp_path / "taken.png")
    (tmp_path / "taken.jpg").write_text("an unrelated file that must survive")
    before = snapshot(tmp_path)
    run_tool("convert-images", tmp_path, "--to", "jpg", "--dry-run")
    assert snapshot(tmp_path) == before
    result = run_tool("convert-images", tmp_path, "--to", "jpg")
    assert names(tmp_path) == {"logo.png", "logo.jpg", "taken.png", "taken.jpg"}
    assert (tmp_path / "taken.jpg").read_text() == "an unrelated file that must survive"
    assert "skipped taken.png" in result.stdout
    with Image.open(tmp_path / "logo.jpg") as jpg:
        assert jpg.format == "JPEG"
        assert all(channel > 240 for channel in jpg.getpixel((14, 8)))  # transparent became white
        red, green, blue = jpg.getpixel((2, 8))
        assert red > 200 and green < 60 and blue < 60


def test_make_thumbnails_once(tmp_path, run_tool):
    Image.new("RGB", (640, 480), "green").save(tmp_path / "landscape.png")
    photo(tmp_path / "portrait.jpg", None, size=(300, 600))
    before = snapshot(tmp_path)
    run_tool("make-thumbnails", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("make-thumbnails", tmp_path)
    with Image.open(tmp_path / "thumbnails" / "landscape.jpg") as thumb:
        assert thumb.size == (256, 192)
    with Image.open(tmp_path / "thumbnails" / "portrait.jpg") as thumb:
        assert thumb.size == (128, 256)
    again = run_tool("make-thumbnails", tmp_path)
    assert "made 0 thumbnail(s)" in again.stdout and "2 already up to date" in again.stdout


def test_images_to_pdf_in_natural_order(tmp_path, run_tool):
    pages = tmp_path / "scans"
    for n in (1, 2, 10):
        pages.mkdir(exist_ok=True)
        Image.new("RGB", (50, 70), "white").save(pages / f"page{n}.png")
    out = tmp_path / "scans.pdf"
    run_tool("images-to-pdf", pages, out, "--dry-run")
    assert not out.exists()
    result = run_tool("images-to-pdf", pages, out)
    assert result.stdout.index("page2.png") < result.stdout.index("page10.png")
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 3
    refused = run_tool("images-to-pdf", pages, out, check=False)
    assert refused.returncode == 2 and "already exists" in refused.stderr


def test_strip_photo_metadata_removes_gps_and_dates(tmp_path, run_tool):
    photo(tmp_path / "beach.jpg", "2024:07:14 15:30:12", size=(80, 60), gps=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "clean.png")
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'
    Image.new("RGB", (8, 8)).save(tmp_path / "tagged.jpg", xmp=xmp, comment=b"taken at home")
    before = snapshot(tmp_path)
    preview = run_tool("strip-photo-metadata", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    assert "beach.jpg" in preview.stdout and "clean.png" not in preview.stdout
    run_tool("strip-photo-metadata", tmp_path)
    with Image.open(tmp_path / "beach.jpg") as image:
        assert image.size == (80, 60)
        assert not image.getexif()
        assert not image.getexif().get_ifd(IFD.GPSInfo)
    with Image.open(tmp_path / "tagged.jpg") as image:
        assert "xmp" not in image.info and "comment" not in image.info
    assert names(tmp_path) == {"beach.jpg", "clean.png", "tagged.jpg"}
