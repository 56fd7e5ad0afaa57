// .note.dlopen: the JSON forms, the note layout, bad input, and a library compiled here with a
// note, read back through ReadElf.
#include "builder/dlopen_note.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "builder/elf.h"

namespace arrow::builder {
namespace {

std::string Desc(const std::string& json) { return json + std::string(1, '\0'); }

// One note: header, name "FDO\0" (or `owner`), descriptor, padded to `align`.
std::string Note(const std::string& desc, uint32_t type = kNoteDlopenType, uint64_t align = 4,
                 const std::string& owner = std::string("FDO\0", 4)) {
  auto pad = [&](std::string s) { return s.append((align - s.size() % align) % align, '\0'); };
  auto le = [](uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  std::string head = le(static_cast<uint32_t>(owner.size())) + le(static_cast<uint32_t>(desc.size())) + le(type) + owner;
  return pad(head) + pad(desc);
}

TEST(DlopenNote, ArrayForm) {
  auto d = ParseDlopenJson(Desc(R"([{"feature":"zstd","description":"compression","priority":"required",
                                    "soname":["libzstd.so.1"]},{"feature":"lz4","soname":["liblz4.so.1","liblz4.so"]}])"),
                           "x");
  ASSERT_TRUE(d.ok()) << d.message();
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].feature, "zstd");
  EXPECT_EQ((*d)[0].priority, "required");
  EXPECT_EQ((*d)[0].sonames, std::vector<std::string>{"libzstd.so.1"});
  EXPECT_EQ((*d)[1].priority, "recommended");  // the default
  EXPECT_EQ((*d)[1].sonames, (std::vector<std::string>{"liblz4.so.1", "liblz4.so"}));
}

TEST(DlopenNote, OlderSingleObjectForm) {
  auto d = ParseDlopenJson(Desc(R"({"feature":"idn","priority":"suggested","soname":["libidn2.so.0"]})"), "x");
  ASSERT_TRUE(d.ok()) << d.message();
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].priority, "suggested");
}

TEST(DlopenNote, BadJson) {
  auto msg = [](const std::string& desc) { return ParseDlopenJson(desc, "lib.so").message(); };
  EXPECT_EQ(msg(Desc("[{\"soname\": [")), "lib.so: .note.dlopen: malformed JSON");
  EXPECT_EQ(msg("[]"), "lib.so: .note.dlopen: the JSON is not NUL-terminated");
  EXPECT_EQ(msg(Desc("[]") + "x"), "lib.so: .note.dlopen: bytes after the JSON's terminating NUL");
  EXPECT_EQ(msg(Desc("42")), "lib.so: .note.dlopen: the JSON is neither an array nor an object");
  EXPECT_EQ(msg(Desc("[{\"feature\":\"a\"}]")), "lib.so: .note.dlopen: an entry has no 'soname'");
  EXPECT_EQ(msg(Desc("[{\"soname\":\"libx.so\"}]")), "lib.so: .note.dlopen: 'soname' must be a non-empty array of strings");
  EXPECT_EQ(msg(Desc("[{\"soname\":[\"/lib/libx.so\"]}]")), "lib.so: .note.dlopen: 'soname' entries are file names like libfoo.so.1");
  EXPECT_EQ(msg(Desc("[{\"soname\":[\"libx.so\"],\"priority\":\"maybe\"}]")),
            "lib.so: .note.dlopen: priority 'maybe' is not required, recommended or suggested");
  EXPECT_EQ(msg(Desc("[1]")), "lib.so: .note.dlopen: an entry is not a JSON object");
  const std::string big = Desc("[" + std::string(kMaxDlopenNoteBytes, ' ') + "]");
  EXPECT_NE(msg(big).find("more than 65536"), std::string::npos);
}

TEST(DlopenNote, NoteLayout) {
  const std::string json = Desc(R"([{"soname":["libz.so.1"]}])");
  // Other notes are skipped (a GNU build-id), the FDO one found, with 4- and 8-byte layouts.
  for (uint64_t align : {4u, 8u}) {
    const std::string seg = Note(std::string(20, 'i'), 3, align, std::string("GNU\0", 4)) + Note(json, kNoteDlopenType, align);
    auto d = ParseDlopenNotes(seg, align, "x");
    ASSERT_TRUE(d.ok()) << d.message();
    ASSERT_EQ(d->size(), 1u) << align;
    EXPECT_EQ((*d)[0].sonames[0], "libz.so.1");
  }
  // An FDO note of another type, or another owner with the type, is not a dlopen note.
  EXPECT_TRUE(ParseDlopenNotes(Note(json, 1), 4, "x")->empty());
  EXPECT_TRUE(ParseDlopenNotes(Note(json, kNoteDlopenType, 4, std::string("XYZ\0", 4)), 4, "x")->empty());
  EXPECT_EQ(ParseDlopenNotes(Note(json), 16, "x").message(), "x: PT_NOTE alignment 16 (notes are 4- or 8-byte aligned)");
  const std::string note = Note(json);
  EXPECT_EQ(ParseDlopenNotes(note.substr(0, note.size() - 8), 4, "x").message(), "x: a note runs past its PT_NOTE segment");
  EXPECT_EQ(ParseDlopenNotes(note + "abc", 4, "x").message(), "x: a note header runs past its PT_NOTE segment");
  EXPECT_EQ(ParseDlopenNotes(Note("[{]" + std::string(1, '\0')), 4, "x").message(), "x: .note.dlopen: malformed JSON");
}

// A library built by gcc with the note as systemd's macros emit it: read back by ReadElf.
TEST(DlopenNote, CompiledLibrary) {
  char tmpl[] = "/tmp/arrow-dlnote-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string json = R"([{"feature":"z","priority":"recommended","soname":["libz.so.1"]}])";
  std::ofstream(dir + "/n.c") << "__attribute__((used, section(\".note.dlopen\"), aligned(4))) static const struct {\n"
                              << "  unsigned n, d, t; char name[4]; char desc[" << (json.size() + 4) / 4 * 4 << "];\n"
                              << "} note = {4, " << json.size() + 1 << ", 0x407c0c0a, \"FDO\", \""
                              << "[{\\\"feature\\\":\\\"z\\\",\\\"priority\\\":\\\"recommended\\\",\\\"soname\\\":[\\\"libz.so.1\\\"]}]"
                              << "\"};\nint f(void) { return 1; }\n";
  const std::string cmd = "gcc -shared -fPIC -o " + dir + "/libn.so " + dir + "/n.c 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto info = ReadElf(dir + "/libn.so");
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(info.ok()) << info.message();
  ASSERT_EQ(info->dlopen.size(), 1u);
  EXPECT_EQ(info->dlopen[0].feature, "z");
  EXPECT_EQ(info->dlopen[0].sonames, std::vector<std::string>{"libz.so.1"});
}

}  // namespace
}  // namespace arrow::builder
