// ELF reader tests: real objects compiled by gcc at test time, and hand-built hostile headers
// whose error texts are asserted exactly.
#include "builder/elf.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace arrow::builder {
namespace {

namespace fs = std::filesystem;

class ElfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/arrow-elf-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  void Cc(const std::string& src, const std::string& out, const std::string& flags) {
    std::string c = Write(out + ".c", src);
    std::string cmd = "gcc -o " + dir_ + "/" + out + " " + c + " " + flags + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  std::string dir_;
};

TEST_F(ElfTest, ReadsSharedLibraryFacts) {
  Cc("#include <stdio.h>\nint f(void){return puts(\"x\");}", "libf.so",
     "-shared -fPIC -Wl,-soname,libf.so.1 -Wl,--disable-new-dtags -Wl,-rpath,'/a:$ORIGIN/b'");
  auto r = ReadElf(dir_ + "/libf.so");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->elf_class, ELFCLASS64);
  EXPECT_EQ(r->machine, EM_X86_64);
  EXPECT_EQ(r->type, ET_DYN);
  EXPECT_TRUE(r->has_dynamic);
  EXPECT_EQ(r->soname, "libf.so.1");
  EXPECT_EQ(r->rpath.value_or(""), "/a:$ORIGIN/b");
  EXPECT_FALSE(r->runpath.has_value());
  EXPECT_EQ(r->interpreter, "");
  EXPECT_EQ(r->needed, std::vector<std::string>{"libc.so.6"});
}

TEST_F(ElfTest, ReadsExecutableInterpreterAndRunpath) {
  Cc("int main(void){return 0;}", "prog", "-Wl,--enable-new-dtags -Wl,-rpath,/x/lib");
  auto r = ReadElf(dir_ + "/prog");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->interpreter, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_EQ(r->runpath.value_or(""), "/x/lib");
  EXPECT_FALSE(r->rpath.has_value());
  EXPECT_TRUE(IsElfFile(dir_ + "/prog"));
}

// Imports are the undefined dynamic symbols, found through DT_GNU_HASH (gcc's default), DT_HASH,
// or both; what the object defines is not an import.
TEST_F(ElfTest, ReadsImportedSymbols) {
  const char* src =
      "#include <pthread.h>\n#include <stdio.h>\n"
      "int own(void){return 1;}\n"
      "int main(void){puts(\"x\"); pthread_exit(0);}";
  for (const char* style : {"gnu", "sysv", "both"}) {
    SCOPED_TRACE(style);
    Cc(src, std::string("p-") + style, std::string("-Wl,--hash-style=") + style);
    auto r = ReadElf(dir_ + "/p-" + style);
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_TRUE(r->imports_known);
    auto has = [&](const char* s) {
      return std::find(r->imports.begin(), r->imports.end(), s) != r->imports.end();
    };
    EXPECT_TRUE(has("pthread_exit"));
    EXPECT_TRUE(has("puts"));
    EXPECT_FALSE(has("own"));
    EXPECT_FALSE(has("main"));
    EXPECT_TRUE(std::is_sorted(r->imports.begin(), r->imports.end()));
  }
  // A library that defines and exports symbols, and imports only from libc.
  Cc("#include <stdio.h>\nint f(void){return puts(\"x\");}\nint g(void){return 2;}", "libfg.so",
     "-shared -fPIC");
  auto r = ReadElf(dir_ + "/libfg.so");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r->imports_known);
  EXPECT_NE(std::find(r->imports.begin(), r->imports.end(), "puts"), r->imports.end());
  EXPECT_EQ(std::find(r->imports.begin(), r->imports.end(), "f"), r->imports.end());
}

TEST_F(ElfTest, NonElfFileIsAnError) {
  std::string p = Write("script.sh", "#!/bin/sh\necho hi\n");
  EXPECT_FALSE(IsElfFile(p));
  auto r = ReadElf(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), p + ": not an ELF file");
}

TEST_F(ElfTest, MissingFileIsAnError) {
  auto r = ReadElf(dir_ + "/nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), dir_ + "/nope: cannot open (No such file or directory)");
}

TEST_F(ElfTest, TruncatedFilesAreErrorsNotCrashes) {
  Cc("int main(void){return 0;}", "prog", "");
  std::ifstream in(dir_ + "/prog", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t len : {size_t{0}, size_t{3}, size_t{20}, size_t{63}, size_t{64}, size_t{200},
                     size_t{1000}, bytes.size() / 2}) {
    auto r = ReadElfMemory(std::string_view(bytes).substr(0, len), "t");
    EXPECT_FALSE(r.ok()) << len;
  }
  auto r = ReadElfMemory(std::string_view(bytes).substr(0, 20), "t");
  EXPECT_EQ(r.message().rfind("t: ", 0), 0u) << r.message();
  std::string p = Write("trunc", bytes.substr(0, 100));
  auto f = ReadElf(p);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.message(), p + ": program headers beyond end of file");
}

// A minimal ELF64: header, `phdrs`, then `tail` bytes at offset 64 + 56 * phdrs.size().
std::string MakeElf(const std::vector<Elf64_Phdr>& phdrs, const std::string& tail) {
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_DYN;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof eh;
  eh.e_ehsize = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = static_cast<uint16_t>(phdrs.size());
  std::string out(reinterpret_cast<const char*>(&eh), sizeof eh);
  for (const auto& p : phdrs) out.append(reinterpret_cast<const char*>(&p), sizeof p);
  return out + tail;
}

Elf64_Phdr Ph(uint32_t type, uint64_t off, uint64_t size, uint64_t vaddr = 0) {
  Elf64_Phdr p{};
  p.p_type = type, p.p_offset = off, p.p_filesz = p.p_memsz = size, p.p_vaddr = vaddr;
  return p;
}

std::string Dyn(std::vector<std::pair<int64_t, uint64_t>> entries) {
  std::string s;
  entries.push_back({DT_NULL, 0});
  for (auto [t, v] : entries) {
    Elf64_Dyn d{};
    d.d_tag = t, d.d_un.d_val = v;
    s.append(reinterpret_cast<const char*>(&d), sizeof d);
  }
  return s;
}

TEST(ElfHostile, InterpBeyondFile) {
  auto r = ReadElfMemory(MakeElf({Ph(PT_INTERP, 1000, 28)}, ""), "h");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "h: PT_INTERP beyond end of file");
  r = ReadElfMemory(MakeElf({Ph(PT_INTERP, 120, 4)}, "abcd"), "h");
  EXPECT_EQ(r.message(), "h: PT_INTERP is not NUL-terminated");
}

TEST(ElfHostile, StrtabNotMapped) {
  const uint64_t dyn_off = 64 + 2 * 56;
  std::string dyn = Dyn({{DT_NEEDED, 1}, {DT_STRTAB, 0x5000}, {DT_STRSZ, 8}});
  auto r =
      ReadElfMemory(MakeElf({Ph(PT_LOAD, 0, 64), Ph(PT_DYNAMIC, dyn_off, dyn.size())}, dyn), "h");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "h: DT_STRTAB address not mapped by any PT_LOAD");
}

// A hash table that claims more symbols than the file holds, or a GNU hash chain that never
// ends: the imports are unknown (callers then assume anything), never an error or a crash.
TEST(ElfHostile, SymbolCountsBeyondTheFile) {
  const uint64_t dyn_off = 64 + 2 * 56;
  std::string strtab("\0libx.so\0", 9);
  for (bool gnu : {false, true}) {
    SCOPED_TRACE(gnu ? "DT_GNU_HASH" : "DT_HASH");
    std::string dyn = Dyn({{DT_NEEDED, 1},
                           {DT_STRTAB, 0x1000},
                           {DT_STRSZ, 9},
                           {DT_SYMTAB, 0x1010},
                           {gnu ? DT_GNU_HASH : DT_HASH, 0x1100}});
    uint64_t data_off = dyn_off + dyn.size();
    std::string data = strtab + std::string(0x100 - strtab.size(), '\0');  // strtab, symtab
    uint32_t words[] = {1, gnu ? 0u : 100000u, 0, 0, 1, 0};  // DT_HASH: nchain = 100000
    if (gnu) {  // nbuckets 1, symoffset 0, no bloom words; bucket -> symbol 1; chain never ends
      uint32_t g[] = {1, 0, 0, 0, 1, 0};
      std::memcpy(words, g, sizeof g);
    }
    data.append(reinterpret_cast<const char*>(words), sizeof words);
    auto bytes =
        MakeElf({Ph(PT_LOAD, data_off, data.size(), 0x1000), Ph(PT_DYNAMIC, dyn_off, dyn.size())},
                dyn + data);
    auto r = ReadElfMemory(bytes, "h");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->needed, std::vector<std::string>{"libx.so"});
    EXPECT_FALSE(r->imports_known);
    EXPECT_TRUE(r->imports.empty());
  }
}

TEST(ElfHostile, StringIndexBeyondTable) {
  const uint64_t dyn_off = 64 + 2 * 56;
  std::string dyn = Dyn({{DT_NEEDED, 50}, {DT_STRTAB, 0x1000}, {DT_STRSZ, 8}});
  std::string strtab("\0libx.so", 8);
  uint64_t str_off = dyn_off + dyn.size();
  auto bytes =
      MakeElf({Ph(PT_LOAD, str_off, 8, 0x1000), Ph(PT_DYNAMIC, dyn_off, dyn.size())}, dyn + strtab);
  auto r = ReadElfMemory(bytes, "h");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "h: DT_NEEDED string index 50 beyond string table");
  dyn = Dyn({{DT_NEEDED, 1}, {DT_STRTAB, 0x1000}, {DT_STRSZ, 8}});
  bytes =
      MakeElf({Ph(PT_LOAD, str_off, 8, 0x1000), Ph(PT_DYNAMIC, dyn_off, dyn.size())}, dyn + strtab);
  r = ReadElfMemory(bytes, "h");
  EXPECT_EQ(r.message(), "h: DT_NEEDED string is not NUL-terminated");
  bytes = MakeElf({Ph(PT_LOAD, str_off, 9, 0x1000), Ph(PT_DYNAMIC, dyn_off, dyn.size())},
                  dyn + strtab + '\0');
  dyn = Dyn({{DT_NEEDED, 1}, {DT_STRTAB, 0x1000}, {DT_STRSZ, 9}});
  bytes = MakeElf({Ph(PT_LOAD, str_off, 9, 0x1000), Ph(PT_DYNAMIC, dyn_off, dyn.size())},
                  dyn + strtab + '\0');
  r = ReadElfMemory(bytes, "h");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->needed, std::vector<std::string>{"libx.so"});
}

TEST(ElfHostile, DynamicBeyondFile) {
  auto r = ReadElfMemory(MakeElf({Ph(PT_DYNAMIC, 4096, 64)}, ""), "h");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "h: PT_DYNAMIC beyond end of file");
}

TEST(ElfHostile, Elf32HeaderReadsClass) {
  Elf32_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS32;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_DYN;
  eh.e_machine = EM_386;
  eh.e_version = EV_CURRENT;
  eh.e_ehsize = sizeof eh;
  auto r = ReadElfMemory(std::string(reinterpret_cast<const char*>(&eh), sizeof eh), "h32");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->elf_class, ELFCLASS32);
  EXPECT_EQ(r->machine, EM_386);
  EXPECT_FALSE(r->has_dynamic);
}

}  // namespace
}  // namespace arrow::builder
