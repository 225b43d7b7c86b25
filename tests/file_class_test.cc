// File classes: by content (magic bytes) first, the extension when the
// content is not recognised; every IMAGE/VIDEO content has a redactor.
#include "policy/file_class.h"

#include <random>
#include <string>

#include "gtest/gtest.h"
#include "redact/redact.h"
#include "redact/source.h"

namespace scopedfs::policy {
namespace {

// A string literal with its NULs.
template <size_t N>
std::string S(const char (&s)[N]) {
  return std::string(s, N - 1);
}

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

TEST(FileClassTest, Extensions) {
  struct Case {
    const char* name;
    v1::FileClass want;
  };
  const Case cases[] = {
      {"a.jpg", v1::IMAGE},    {"a.JPEG", v1::IMAGE},   {"a.png", v1::IMAGE},
      {"a.gif", v1::IMAGE},    {"a.webp", v1::IMAGE},   {"a.HEIC", v1::IMAGE},
      {"a.heif", v1::IMAGE},   {"a.avif", v1::IMAGE},   {"a.dng", v1::IMAGE},
      {"a.tiff", v1::IMAGE},   {"a.tif", v1::IMAGE},    {"a.bmp", v1::IMAGE},
      {"a.raw", v1::IMAGE},    {"a.mp4", v1::VIDEO},    {"a.MoV", v1::VIDEO},
      {"a.m4v", v1::VIDEO},    {"a.mkv", v1::VIDEO},    {"a.webm", v1::VIDEO},
      {"a.avi", v1::VIDEO},    {"a.3gp", v1::VIDEO},    {"a.mp3", v1::AUDIO},
      {"a.m4a", v1::AUDIO},    {"a.aac", v1::AUDIO},    {"a.flac", v1::AUDIO},
      {"a.ogg", v1::AUDIO},    {"a.opus", v1::AUDIO},   {"a.wav", v1::AUDIO},
      {"a.pdf", v1::DOCUMENT}, {"a.txt", v1::DOCUMENT}, {"a.md", v1::DOCUMENT},
      {"a.doc", v1::DOCUMENT}, {"a.docx", v1::DOCUMENT}, {"a.odt", v1::DOCUMENT},
      {"a.xls", v1::DOCUMENT}, {"a.xlsx", v1::DOCUMENT}, {"a.ods", v1::DOCUMENT},
      {"a.ppt", v1::DOCUMENT}, {"a.pptx", v1::DOCUMENT}, {"a.odp", v1::DOCUMENT},
      {"a.rtf", v1::DOCUMENT}, {"a.csv", v1::DOCUMENT}, {"a.EPUB", v1::DOCUMENT},
      {"archive.tar.gz", v1::OTHER}, {"x.jpg.exe", v1::OTHER}, {"noext", v1::OTHER},
      {".jpg", v1::OTHER},     {"a.", v1::OTHER},       {"", v1::OTHER},
      {"a.jpegx", v1::OTHER},  {"DCIM/Camera/a.jpg", v1::IMAGE}, {"a.b/c", v1::OTHER},
      {"photo.final.JpG", v1::IMAGE},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ClassifyFile(c.name, false, ""), c.want) << c.name;
  }
}

TEST(FileClassTest, DirectoriesAreDirectories) {
  EXPECT_EQ(ClassifyFile("DCIM", true, ""), v1::DIRECTORY);
  EXPECT_EQ(ClassifyFile("album.jpg", true, "\xFF\xD8\xFF"), v1::DIRECTORY);
}

// A renamed file keeps its real class: the name is only a hint.
TEST(FileClassTest, ContentWinsOverExtension) {
  const std::string jpeg = "\xFF\xD8\xFF\xE0";
  for (const char* name : {"notes.txt", "IMG_0001.bin", "photo", "x.pdf",
                           "a.mp3", ".jpg", "a.JPG"}) {
    EXPECT_EQ(ClassifyFile(name, false, jpeg), v1::IMAGE) << name;
  }
  EXPECT_EQ(ClassifyFile("a.mp3", false, "%PDF-1.7"), v1::DOCUMENT);
  EXPECT_EQ(ClassifyFile("clip.jpg", false, S("\0\0\0\x18" "ftypmp42\0\0\0\0mp42isom")),
            v1::VIDEO);
}

// Content no parser recognises leaves the extension in charge, so a file
// named like an image stays an image (and a redacted caller is refused it).
TEST(FileClassTest, UnrecognisedContentKeepsTheExtensionsClass) {
  EXPECT_EQ(ClassifyFile("a.jpg", false, "hello world"), v1::IMAGE);
  EXPECT_EQ(ClassifyFile("a.jxl", false, S("\0\0\0\x0cJXL \r\n\x87\n")), v1::IMAGE);
  EXPECT_EQ(ClassifyFile("a.txt", false, "hello world"), v1::DOCUMENT);
  EXPECT_EQ(ClassifyFile("a.bin", false, "hello world"), v1::OTHER);
}

TEST(FileClassTest, MagicFallback) {
  struct Case {
    const char* what;
    std::string head;
    v1::FileClass want;
  };
  const Case cases[] = {
      {"jpeg", Bytes({0xFF, 0xD8, 0xFF, 0xE1, 0, 0}), v1::IMAGE},
      {"png", Bytes({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13}), v1::IMAGE},
      {"gif87", "GIF87a....", v1::IMAGE},
      {"gif89", "GIF89a....", v1::IMAGE},
      {"tiff le", S("II*\0\x08\0\0\0"), v1::IMAGE},
      {"tiff be", S("MM\0*\0\0\0\x08"), v1::IMAGE},
      {"webp", S("RIFF\x10\0\0\0WEBPVP8 "), v1::IMAGE},
      {"heic", S("\0\0\0\x18" "ftypheic\0\0\0\0mif1heic"), v1::IMAGE},
      {"mif1", S("\0\0\0\x18" "ftypmif1\0\0\0\0mif1heic"), v1::IMAGE},
      {"avif", S("\0\0\0\x1c" "ftypavif\0\0\0\0avifmif1miaf"), v1::IMAGE},
      {"isom", S("\0\0\0\x20" "ftypisom\0\0\x02\0isomiso2avc1mp41"), v1::VIDEO},
      {"mp42", S("\0\0\0\x18" "ftypmp42\0\0\0\0mp42isom"), v1::VIDEO},
      {"qt", S("\0\0\0\x14" "ftypqt  \0\0\0\0qt  "), v1::VIDEO},
      {"m4a", S("\0\0\0\x1c" "ftypM4A \0\0\0\0M4A mp42isom"), v1::AUDIO},
      {"unknown major, known compatible",
       S("\0\0\0\x18" "ftypzzzz\0\0\0\0zzzzmif1"), v1::IMAGE},
      {"unknown brands", S("\0\0\0\x14" "ftypzzzz\0\0\0\0zzzz"), v1::VIDEO},
      {"quicktime without ftyp", S("\0\0\0\x08" "wide\0\0\0\x10mdat"), v1::VIDEO},
      {"bmp", S("BM\x46\0\0\0\0\0\0\0\x36\0\0\0\x28\0"), v1::IMAGE},
      {"orf", S("IIRO\x08\0\0\0"), v1::IMAGE},
      {"rw2", S("IIU\0\x08\0\0\0"), v1::IMAGE},
      {"avi", S("RIFF\x10\0\0\0AVI LIST"), v1::VIDEO},
      {"wav", S("RIFF\x10\0\0\0WAVEfmt "), v1::AUDIO},
      {"mkv", "\x1A\x45\xDF\xA3\x9F", v1::VIDEO},
      {"id3", S("ID3\x04\0\0\0\0"), v1::AUDIO},
      {"flac", S("fLaC\0\0\0\x22"), v1::AUDIO},
      {"ogg", S("OggS\0\x02"), v1::AUDIO},
      {"mp3 frame", Bytes({0xFF, 0xFB, 0x90, 0x64}), v1::AUDIO},
      {"pdf", "%PDF-1.4\n", v1::DOCUMENT},
      {"text", "hello world", v1::OTHER},
      {"empty", "", v1::OTHER},
      {"short jpeg", Bytes({0xFF, 0xD8}), v1::OTHER},
      {"short ftyp", S("\0\0\0\x18" "ftyp"), v1::OTHER},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ClassifyFile("blob", false, c.head), c.want) << c.what;
    EXPECT_EQ(ClassifyFile("blob.unknownext", false, c.head), c.want) << c.what;
    EXPECT_EQ(ClassifyMagic(c.head), c.want) << c.what;
  }
}

// Every content the classifier calls IMAGE or VIDEO has a redactor: the
// magic of each such format above, and thousands of variants of them (random
// bytes after the magic, random prefixes of it), must reach a format
// redact::PlanRedaction can process, never kUnknown (which would be refused
// to every redacted caller: a format nobody can read).
TEST(FileClassTest, EveryImageAndVideoContentHasARedactor) {
  const std::string samples[] = {
      Bytes({0xFF, 0xD8, 0xFF, 0xE1}),
      Bytes({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}),
      "GIF87a", "GIF89a", S("II*\0"), S("MM\0*"), "IIRO", "IIRS", "MMOR",
      S("IIU\0"), "BM", "RIFF\x10\0\0\0WEBP", S("RIFF\x10\0\0\0AVI "),
      S("\0\0\0\x18" "ftypheic"), S("\0\0\0\x18" "ftypmp42"),
      S("\0\0\0\x18" "ftypzzzz"), S("\0\0\0\x08" "moov"),
      S("\0\0\0\x08" "mdat"), S("\0\0\0\x08" "wide"),
      S("\0\0\0\x08" "free"), S("\0\0\0\x08" "skip"),
      S("\0\0\0\x08" "pnot"), "\x1A\x45\xDF\xA3"};
  std::mt19937 rng(1234);
  int media = 0;
  for (const std::string& magic : samples) {
    for (int i = 0; i < 500; ++i) {
      std::string head = magic.substr(0, i % 7 == 0 ? rng() % (magic.size() + 1)
                                                     : magic.size());
      const size_t extra = rng() % 24;
      for (size_t k = 0; k < extra; ++k) head.push_back(static_cast<char>(rng()));
      const v1::FileClass cls = ClassifyMagic(head);
      if (cls != v1::IMAGE && cls != v1::VIDEO) continue;
      ++media;
      const redact::StringSource source(head);
      const redact::Format format = redact::DetectFormat(source);
      EXPECT_TRUE(redact::HasRedactor(format))
          << "classified " << v1::FileClass_Name(cls)
          << " but no redactor: magic #" << (&magic - samples) << " head size "
          << head.size();
    }
  }
  EXPECT_GT(media, 5000);
}

}  // namespace
}  // namespace scopedfs::policy
