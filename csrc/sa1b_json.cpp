// SA-1B-style JSON files to annotation columns (sa1b_json.hpp), with simdjson's DOM parser:
// it validates the whole document (syntax, UTF-8, escapes, numbers) at a few GB/s, and the
// columns are then filled from its tape.
#include "sa1b_json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>

#include "json_simdjson.hpp"

namespace turborle {

AnnotationColumns AnnotationColumns::take() {
  AnnotationColumns out;
  auto move = [](auto& from, auto& to) {
    to.swap(from);
    from.reserve(to.size());
  };
  move(counts, out.counts);
  move(counts_end, out.counts_end);
  move(has_mask, out.has_mask);
  move(height, out.height);
  move(width, out.width);
  move(ann_id, out.ann_id);
  move(category_id, out.category_id);
  move(has_ann_id, out.has_ann_id);
  move(has_category_id, out.has_category_id);
  move(stored_area, out.stored_area);
  move(has_stored_area, out.has_stored_area);
  move(stored_bbox, out.stored_bbox);
  move(has_stored_bbox, out.has_stored_bbox);
  move(extra, out.extra);
  move(extra_end, out.extra_end);
  move(has_extra, out.has_extra);
  return out;
}

void AnnotationColumns::truncate(size_t n) {
  if (n >= rows()) return;
  counts.resize(n ? static_cast<size_t>(counts_end[n - 1]) : 0);
  extra.resize(n ? static_cast<size_t>(extra_end[n - 1]) : 0);
  for (auto* v : {&counts_end, &height, &width, &ann_id, &category_id, &extra_end}) v->resize(n);
  for (auto* v : {&has_mask, &has_ann_id, &has_category_id, &has_stored_area, &has_stored_bbox,
                  &has_extra}) {
    v->resize(n);
  }
  stored_area.resize(n);
  stored_bbox.resize(4 * n);
}

void AnnotationColumns::add(const char* c, size_t c_len, int64_t h, int64_t w, const int64_t* id,
                            const int64_t* category, const double* area, const double* bbox,
                            const char* e, size_t e_len) {
  if (c) counts.append(c, c_len);
  counts_end.push_back(static_cast<int64_t>(counts.size()));
  has_mask.push_back(c != nullptr);
  height.push_back(h);
  width.push_back(w);
  ann_id.push_back(id ? *id : 0);
  has_ann_id.push_back(id != nullptr);
  category_id.push_back(category ? *category : 0);
  has_category_id.push_back(category != nullptr);
  stored_area.push_back(area ? *area : 0.0);
  has_stored_area.push_back(area != nullptr);
  for (int k = 0; k < 4; ++k) stored_bbox.push_back(bbox ? bbox[k] : 0.0);
  has_stored_bbox.push_back(bbox != nullptr);
  if (e) extra.append(e, e_len);
  extra_end.push_back(static_cast<int64_t>(extra.size()));
  has_extra.push_back(e != nullptr);
}

void append_json_double(std::string& out, double value) {
  if (value == 0) {
    out += std::signbit(value) ? "-0.0" : "0.0";
    return;
  }
  // The shortest round-trip digits, then placed as orjson (ryu's formatter) places them.
  char buf[40];
  char* end = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific).ptr;
  const char* p = buf;
  if (*p == '-') {
    out += '-';
    ++p;
  }
  char digits[24];
  int n = 0;
  for (; *p != 'e'; ++p) {
    if (*p != '.') digits[n++] = *p;
  }
  int exponent = 0;
  std::from_chars(p + 1 + (p[1] == '+'), end, exponent);
  const int point = exponent + 1;  // digits before the decimal point
  if (point >= n && point <= 16) {
    out.append(digits, n).append(point - n, '0').append(".0");
  } else if (point > 0 && point <= 16) {
    out.append(digits, point).append(1, '.').append(digits + point, n - point);
  } else if (point > -5 && point <= 0) {
    out.append("0.").append(-point, '0').append(digits, n);
  } else {
    out += digits[0];
    if (n > 1) out.append(1, '.').append(digits + 1, n - 1);
    out += point - 1 > 0 ? "e+" : "e";
    char exp[8];
    out.append(exp, std::to_chars(exp, exp + sizeof exp, point - 1).ptr);
  }
}

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// Deeper documents go to the Python path (orjson writes 254 levels, reads 1024).
constexpr size_t kMaxDepth = 128;
// Larger files go to the Python path, which splits them into row groups Arrow can index.
constexpr size_t kMaxFileBytes = size_t(256) << 20;
constexpr int64_t kMaxPixels = int64_t(1) << 62;

// A JSON string as orjson writes it.
void append_json_string(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + start, i - start);
    start = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out.append("\\u00").append(1, kHex[c >> 4]).append(1, kHex[c & 15]);
    }
  }
  out.append(s.data() + start, s.size() - start);
  out += '"';
}

template <typename T>
void append_integer(std::string& out, T value) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
}

// The keys of one object, to find a repeated one (orjson keeps the last value of a repeated
// key, simdjson's lookups the first: such files go to the Python path). Objects of more than
// kMaxKeys keys go there too.
class KeySet {
 public:
  static constexpr size_t kMaxKeys = 64;
  // False when `key` is already in the set or the set is full.
  bool insert(std::string_view key) {
    if (n_ == kMaxKeys) return false;
    for (size_t i = 0; i < n_; ++i) {
      if (keys_[i] == key) return false;
    }
    keys_[n_++] = key;
    return true;
  }

 private:
  std::string_view keys_[kMaxKeys];
  size_t n_ = 0;
};

bool distinct_keys(object o) {
  KeySet keys;
  for (auto field : o) {
    if (!keys.insert(field.key)) return false;
  }
  return true;
}

// Appends a value as orjson writes what orjson.loads reads from it; false (and `out` partly
// written) when an object in it repeats a key.
bool append_json(std::string& out, element v) {
  switch (v.type()) {
    case element_type::OBJECT: {
      out += '{';
      KeySet keys;
      const object o = v.get_object().value_unsafe();  // (a range-for over the temporary
      for (auto field : o) {                            //  would dangle)
        if (!keys.insert(field.key)) return false;
        if (out.back() != '{') out += ',';
        append_json_string(out, field.key);
        out += ':';
        if (!append_json(out, field.value)) return false;
      }
      out += '}';
      return true;
    }
    case element_type::ARRAY: {
      out += '[';
      const array a = v.get_array().value_unsafe();
      for (element e : a) {
        if (out.back() != '[') out += ',';
        if (!append_json(out, e)) return false;
      }
      out += ']';
      return true;
    }
    case element_type::STRING: append_json_string(out, v.get_string().value_unsafe()); break;
    case element_type::INT64: append_integer(out, v.get_int64().value_unsafe()); break;
    case element_type::UINT64: append_integer(out, v.get_uint64().value_unsafe()); break;
    case element_type::DOUBLE: append_json_double(out, v.get_double().value_unsafe()); break;
    case element_type::BOOL: out += v.get_bool().value_unsafe() ? "true" : "false"; break;
    case element_type::NULL_VALUE: out += "null"; break;
  }
  return true;
}

// [h, w] of a valid size (two integers >= 0 of at most 2^62 pixels), as Python reads it.
bool read_size(element h, element w, int64_t& out_h, int64_t& out_w) {
  if (h.type() != element_type::INT64 || w.type() != element_type::INT64) return false;
  out_h = h.get_int64().value_unsafe();
  out_w = w.get_int64().value_unsafe();
  return out_h >= 0 && out_w >= 0 && (out_w == 0 || out_h <= kMaxPixels / out_w);
}

// An id column's value when it is an int64; false otherwise (the Python path keeps such a
// value in `extra`).
bool read_id(element v, int64_t& out) {
  if (v.type() != element_type::INT64) return false;
  out = v.get_int64().value_unsafe();
  return true;
}

// A number as Python's float() of it (integers rounded to the nearest double); false for
// anything else.
bool read_number(element v, double& out) {
  switch (v.type()) {
    case element_type::DOUBLE: out = v.get_double().value_unsafe(); return true;
    case element_type::INT64: out = static_cast<double>(v.get_int64().value_unsafe()); return true;
    case element_type::UINT64: out = static_cast<double>(v.get_uint64().value_unsafe()); return true;
    default: return false;
  }
}

bool is_column_key(std::string_view key, int& slot) {
  static constexpr std::string_view kKeys[] = {"segmentation", "id", "category_id", "area",
                                               "bbox", "image_id"};
  for (int k = 0; k < 6; ++k) {
    if (key == kKeys[k]) {
      slot = k;
      return true;
    }
  }
  return false;
}

// Appends the row of one clean annotation; false when it is not clean.
bool read_annotation(element ann, bool image_size, int64_t image_h, int64_t image_w,
                     AnnotationColumns& out, std::string& extra) {
  if (ann.type() != element_type::OBJECT) return false;
  // segmentation, id, category_id, area, bbox: to Python an absent key reads as null
  element fields[5];
  bool given[5] = {};
  extra.clear();
  KeySet keys;
  const object fields_in_order = ann.get_object().value_unsafe();
  for (auto field : fields_in_order) {
    if (!keys.insert(field.key)) return false;
    int slot;
    if (is_column_key(field.key, slot)) {
      if (slot < 5 && field.value.type() != element_type::NULL_VALUE) {
        fields[slot] = field.value;
        given[slot] = true;
      }
      continue;
    }
    extra += extra.empty() ? '{' : ',';
    append_json_string(extra, field.key);
    extra += ':';
    if (!append_json(extra, field.value)) return false;
  }
  if (!extra.empty()) extra += '}';

  // segmentation: {"size": [h, w], "counts": "..."} (other keys are ignored, as in Python)
  if (!given[0] || fields[0].type() != element_type::OBJECT) return false;
  object seg = fields[0].get_object().value_unsafe();
  element size, counts;
  if (!distinct_keys(seg)) return false;  // (nothing deeper in it is read)
  if (seg["size"].get(size) || seg["counts"].get(counts)) return false;
  if (size.type() != element_type::ARRAY || counts.type() != element_type::STRING) return false;
  array hw = size.get_array().value_unsafe();
  if (hw.size() != 2) return false;
  int64_t h, w;
  if (!read_size(hw.at(0).value_unsafe(), hw.at(1).value_unsafe(), h, w)) return false;
  if (image_size && (h != image_h || w != image_w)) return false;

  int64_t id = 0, category = 0;
  if ((given[1] && !read_id(fields[1], id)) || (given[2] && !read_id(fields[2], category))) {
    return false;
  }
  double area = 0;
  if (given[3] && !read_number(fields[3], area)) return false;
  double box[4];
  if (given[4]) {
    if (fields[4].type() != element_type::ARRAY) return false;
    array b = fields[4].get_array().value_unsafe();
    if (b.size() != 4) return false;
    int k = 0;
    for (element e : b) {
      if (!read_number(e, box[k++])) return false;
    }
  }
  const std::string_view text = counts.get_string().value_unsafe();
  out.add(text.data(), text.size(), h, w, given[1] ? &id : nullptr,
          given[2] ? &category : nullptr, given[3] ? &area : nullptr,
          given[4] ? box : nullptr, extra.empty() ? nullptr : extra.data(), extra.size());
  return true;
}

}  // namespace

struct Sa1bReader::Impl {
  simdjson::dom::parser parser;
  std::string padded;  // the file, followed by simdjson's padding
  std::string extra;
};

Sa1bReader::Sa1bReader() : impl_(new Impl) {}
Sa1bReader::~Sa1bReader() = default;

long Sa1bReader::read(const char* data, size_t size, AnnotationColumns& out, ImageFacts& image) {
  // orjson refuses a byte-order mark, which simdjson would skip.
  if (size > kMaxFileBytes || (size >= 3 && std::memcmp(data, "\xEF\xBB\xBF", 3) == 0)) {
    return -1;
  }
  Impl& s = *impl_;
  if (s.parser.max_depth() != kMaxDepth && s.parser.allocate(size, kMaxDepth)) return -1;
  s.padded.resize(size + simdjson::SIMDJSON_PADDING);  // (one copy: no assign, then grow)
  std::memcpy(&s.padded[0], data, size);
  element doc;
  if (s.parser.parse(s.padded.data(), size, false).get(doc)) return -1;
  if (doc.type() != element_type::OBJECT) return -1;
  object top = doc.get_object().value_unsafe();
  element img, anns;
  if (!distinct_keys(top) || top["image"].get(img) || top["annotations"].get(anns)) return -1;
  if (img.type() != element_type::OBJECT || anns.type() != element_type::ARRAY) return -1;
  array list = anns.get_array().value_unsafe();
  if (list.size() == 0) return -1;

  // The image: its id ("image_id", else "id"), its size when valid, its record.
  object record = img.get_object().value_unsafe();
  element id, h, w;
  const bool named = !record["image_id"].get(id) || !record["id"].get(id);
  image.has_id = named && id.type() == element_type::INT64;
  image.id = image.has_id ? id.get_int64().value_unsafe() : 0;
  int64_t image_h = 0, image_w = 0;
  bool image_size = false;
  if (!record["height"].get(h) && !record["width"].get(w)) {
    // A height or width beyond int64 is a valid size in Python when the other is 0.
    if (h.type() == element_type::UINT64 || w.type() == element_type::UINT64) return -1;
    image_size = read_size(h, w, image_h, image_w);
  }
  image.record.clear();
  if (!append_json(image.record, img)) return -1;

  const size_t before = out.rows();
  for (element ann : list) {
    if (!read_annotation(ann, image_size, image_h, image_w, out, s.extra)) {
      out.truncate(before);
      return -1;
    }
  }
  return static_cast<long>(out.rows() - before);
}

}  // namespace turborle
