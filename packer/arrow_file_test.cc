// Tests for the .arrow writer and reader: round trip, reproducibility, and the reader's refusal
// of tampered, traversing, oversize, linked, duplicated and malformed archives.
#include "packer/arrow_file.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include "common/file_util.h"
#include "common/sha256.h"
#include "packer/test_util.h"

namespace arrow::packer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ReadHostFile;
using testing::RunCommand;
using testing::ShellQuote;
using testing::WriteHostFile;

struct TarMember {
  std::string name;
  std::string data;
  int type = AE_IFREG;
  std::string link;
};

// Builds an arbitrary tar in memory (including members the writer would never produce).
std::string MakeTar(const std::vector<TarMember>& members) {
  std::string out(1 << 20, '\0');
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_memory(a, out.data(), out.size(), &used);
  for (const auto& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, 0644);
    if (m.type == AE_IFLNK) archive_entry_set_symlink(e, m.link.c_str());
    if (m.type == AE_IFREG && !m.link.empty()) archive_entry_set_hardlink(e, m.link.c_str());
    archive_entry_set_size(e, m.type == AE_IFREG ? static_cast<la_int64_t>(m.data.size()) : 0);
    archive_write_header(a, e);
    if (!m.data.empty()) archive_write_data(a, m.data.data(), m.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

std::string BlobName(const std::string& data) { return "blobs/sha256/" + Sha256Hex(data); }

json Desc(const std::string& mt, const std::string& data) {
  return json{{"mediaType", mt}, {"digest", Sha256Digest(data)}, {"size", data.size()}};
}

// A minimal valid layout by hand; tests mutate one piece at a time.
struct HandLayout {
  std::string config = R"({"entrypoint":["/hello"]})";
  std::string layer = "layer bytes";
  std::string manifest() const {
    return json{{"schemaVersion", 2},
                {"mediaType", kManifestMediaType},
                {"artifactType", kArtifactType},
                {"config", Desc(kConfigMediaType, config)},
                {"layers", json::array({Desc(kKernelMediaType, layer)})}}
        .dump();
  }
  std::string index(const std::string& m) const {
    return json{{"schemaVersion", 2},
                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                {"manifests", json::array({Desc(kManifestMediaType, m)})}}
        .dump();
  }
  std::vector<TarMember> members() const {
    std::string m = manifest();
    return {{BlobName(config), config}, {BlobName(layer), layer}, {BlobName(m), m},
            {"index.json", index(m)}, {"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"}};
  }
};

class ArrowFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("arrow-file-test");
    ASSERT_TRUE(t.ok()) << t.message();
    tmp_ = std::make_unique<TempDir>(std::move(t).value());
    dir_ = tmp_->path();
    WriteHostFile(dir_ / "vmlinuz", "KERNEL-BYTES-" + std::string(5000, 'k'));
    WriteHostFile(dir_ / "initramfs.cpio.zst", "INITRAMFS-BYTES-" + std::string(7000, 'i'));
  }

  Result<std::string> Write(const fs::path& out, const std::string& ref = "1.0.0") {
    json config = {{"entrypoint", {"/usr/bin/hello"}}, {"memory_mib", 128}, {"arch", "x86_64"}};
    return WriteArrow(out, config,
                      {{kKernelMediaType, dir_ / "vmlinuz", "vmlinuz"},
                       {kInitramfsMediaType, dir_ / "initramfs.cpio.zst", "initramfs.cpio.zst"}},
                      {.mtime = 1700000000, .ref_name = ref});
  }

  std::unique_ptr<TempDir> tmp_;
  fs::path dir_;
};

TEST_F(ArrowFileTest, RoundTrip) {
  auto out = dir_ / "hello.arrow";
  auto digest = Write(out);
  ASSERT_TRUE(digest.ok()) << digest.message();
  auto img = ReadArrow(out);
  ASSERT_TRUE(img.ok()) << img.message();
  EXPECT_EQ(img->manifest_digest, *digest);
  EXPECT_EQ(Sha256Digest(img->manifest_raw), *digest);
  EXPECT_EQ(img->config_json["memory_mib"], 128);
  EXPECT_EQ(img->config.data, R"({"arch":"x86_64","entrypoint":["/usr/bin/hello"],"memory_mib":128})");
  EXPECT_EQ(img->config.media_type, kConfigMediaType);
  ASSERT_EQ(img->layers.size(), 2u);
  const Blob* k = img->FindLayer(kKernelMediaType);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->data, ReadHostFile(dir_ / "vmlinuz"));
  EXPECT_EQ(k->annotations["org.opencontainers.image.title"], "vmlinuz");
  EXPECT_EQ(img->FindLayer(kInitramfsMediaType)->data, ReadHostFile(dir_ / "initramfs.cpio.zst"));
  EXPECT_EQ(img->FindLayer("nope"), nullptr);
  EXPECT_EQ(img->manifest["artifactType"], kArtifactType);
  EXPECT_EQ(img->index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "1.0.0");
  EXPECT_EQ(img->index["manifests"][0]["artifactType"], kArtifactType);

  // Sorted members, owner 0/0, fixed mtime, modes 0644/0755.
  auto r = RunCommand("TZ=UTC tar --numeric-owner -tvf " + ShellQuote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("drwxr-xr-x 0/0               0 2023-11-14 22:13 blobs/\n"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("-rw-r--r-- 0/0              30 2023-11-14 22:13 oci-layout"),
            std::string::npos)
      << r.output;
}

TEST_F(ArrowFileTest, ReproducibleAndNoRefNameWhenEmpty) {
  ASSERT_TRUE(Write(dir_ / "a.arrow").ok());
  ASSERT_TRUE(Write(dir_ / "b.arrow").ok());
  EXPECT_EQ(ReadHostFile(dir_ / "a.arrow"), ReadHostFile(dir_ / "b.arrow"));
  ASSERT_TRUE(Write(dir_ / "c.arrow", "").ok());
  auto img = ReadArrow(dir_ / "c.arrow");
  ASSERT_TRUE(img.ok()) << img.message();
  EXPECT_FALSE(img->index["manifests"][0].contains("annotations"));
}

TEST_F(ArrowFileTest, FailedWriteLeavesNoFile) {
  auto out = dir_ / "x.arrow";
  auto r = WriteArrow(out, json::object(), {{kKernelMediaType, dir_ / "missing", "vmlinuz"}}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("missing"), std::string::npos) << r.message();
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(Write(dir_ / "no/dir/x.arrow").ok());
  // JSON that cannot be serialized (invalid UTF-8) is an error, not an exception.
  auto bad = WriteArrow(out, {{"env", std::string("\xff\xfe")}}, {}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("cannot serialize JSON"), std::string::npos) << bad.message();
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(ArrowFileTest, TamperedBlobNamesTheDigest) {
  auto out = dir_ / "t.arrow";
  ASSERT_TRUE(Write(out).ok());
  std::string bytes = ReadHostFile(out);
  size_t at = bytes.find("KERNEL-BYTES-");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 20] = 'X';
  WriteHostFile(out, bytes);
  auto r = ReadArrow(out);
  ASSERT_FALSE(r.ok());
  std::string want = "layer 0 " + Sha256Digest(ReadHostFile(dir_ / "vmlinuz")) + ": digest mismatch";
  EXPECT_NE(r.message().find(out.string() + ": " + want), std::string::npos) << r.message();
}

TEST_F(ArrowFileTest, HandLayoutIsAccepted) {
  auto r = ReadArrowMemory(MakeTar(HandLayout().members()));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->layers[0].data, "layer bytes");
}

void ExpectRejected(const std::vector<TarMember>& members, const std::string& message,
                    const ReadLimits& limits = {}) {
  auto r = ReadArrowMemory(MakeTar(members), limits);
  ASSERT_FALSE(r.ok()) << "accepted; expected: " << message;
  EXPECT_NE(r.message().find(message), std::string::npos) << r.message();
}

TEST_F(ArrowFileTest, RejectsUnsafeMembers) {
  auto m = HandLayout().members();
  auto with = [&](TarMember extra) {
    auto v = m;
    v.insert(v.begin(), std::move(extra));
    return v;
  };
  ExpectRejected(with({"../evil", "x"}), "<memory>: member '../evil': path traversal");
  ExpectRejected(with({"blobs/../../evil", "x"}), "path traversal");
  ExpectRejected(with({"/etc/passwd", "x"}), "member '/etc/passwd': absolute");
  ExpectRejected(with({"blobs/link", "", AE_IFLNK, "/etc/passwd"}),
                 "member 'blobs/link': only regular files and directories");
  ExpectRejected(with({"hard", "", AE_IFREG, "oci-layout"}), "member 'hard': only regular files");
  ExpectRejected(with({"dev", "", AE_IFCHR}), "member 'dev': only regular files");
  ExpectRejected(with({"./index.json", "{}"}), "member 'index.json' appears twice");
  ExpectRejected(m, "member 'blobs/sha256/", ReadLimits{.max_member_bytes = 10});
}

TEST_F(ArrowFileTest, RejectsBadJsonAndStructure) {
  HandLayout h;
  std::string mf = h.manifest();
  auto replace = [&](const std::string& name, const std::string& data) {
    auto v = h.members();
    for (auto& t : v)
      if (t.name == name) t.data = data;
    return v;
  };
  ExpectRejected(replace("index.json", "{\"schemaVersion\": 2, "), "index.json: malformed JSON");
  ExpectRejected(replace("index.json", "[]"), "index.json: JSON is not an object");
  ExpectRejected(replace("oci-layout", "{}"), "oci-layout: imageLayoutVersion");
  ExpectRejected(replace("index.json", R"({"schemaVersion":1,"manifests":[]})"),
                 "index.json: schemaVersion must be 2");
  json two = json::parse(h.index(mf));
  two["manifests"].push_back(two["manifests"][0]);
  ExpectRejected(replace("index.json", two.dump()), "expected exactly one manifest, found 2");
  json wrong_size = json::parse(h.index(mf));
  wrong_size["manifests"][0]["size"] = "12";
  ExpectRejected(replace("index.json", wrong_size.dump()), "non-negative integer size");
  wrong_size["manifests"][0]["size"] = mf.size() + 1;
  ExpectRejected(replace("index.json", wrong_size.dump()), "bytes, descriptor says");

  // A manifest that is not JSON, with a correct digest: the error names it.
  std::string bad = "{not json";
  auto v = h.members();
  v.push_back({BlobName(bad), bad});
  v[3].data = json{{"schemaVersion", 2}, {"manifests", json::array({Desc(kManifestMediaType, bad)})}}.dump();
  ExpectRejected(v, "manifest " + Sha256Digest(bad) + ": malformed JSON");

  // Wrong media type on the config, missing blob.
  json m = json::parse(mf);
  m["config"]["mediaType"] = "application/vnd.oci.image.config.v1+json";
  std::string m2 = m.dump();
  v = h.members();
  v.push_back({BlobName(m2), m2});
  v[3].data = h.index(m2);
  ExpectRejected(v, "config " + Sha256Digest(h.config) + ": media type");
  v = h.members();
  v.erase(v.begin() + 1);  // the layer
  ExpectRejected(v, "layer 0 " + Sha256Digest(h.layer) + ": blob missing");
  ExpectRejected({}, "oci-layout missing");
  EXPECT_FALSE(ReadArrowMemory("not a tar at all, just text that is long enough").ok());
}

}  // namespace
}  // namespace arrow::packer
