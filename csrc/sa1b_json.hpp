// The annotation columns of the dataset import (turborle.datasets), and the reader that fills
// them from SA-1B-style JSON files ({"image": {...}, "annotations": [...]}) with simdjson,
// without a Python object per mask. Internal header.
//
// The reader takes only what it reads exactly as the Python path does (orjson, then the
// checks of datasets/_convert.py): a file that is not clean in every respect (a repeated key,
// a value of an unexpected type, a size that does not fit, a byte-order mark, ...) is left to
// the Python path, which gives the same rows for a clean file and names the problem of any
// other. The columns hold what the Python path computes for a clean annotation: nothing here
// decides a problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace turborle {

// One row per annotation (or per problem of the file, added by the Python path). Strings are
// back to back with the end offset of each row; a null row has an empty string.
struct AnnotationColumns {
  std::string counts;  // compressed counts exactly as the file had them (JSON unescaped)
  std::vector<int64_t> counts_end;
  std::vector<uint8_t> has_mask;
  std::vector<int64_t> height, width;
  std::vector<int64_t> ann_id, category_id;
  std::vector<uint8_t> has_ann_id, has_category_id;
  std::vector<double> stored_area;
  std::vector<uint8_t> has_stored_area;
  std::vector<double> stored_bbox;  // four per row
  std::vector<uint8_t> has_stored_bbox;
  std::string extra;  // the annotation's other fields as a JSON object, as orjson writes it
  std::vector<int64_t> extra_end;
  std::vector<uint8_t> has_extra;

  size_t rows() const { return counts_end.size(); }
  // Moves the rows out, leaving these columns empty with room for as many again (the next
  // row group's buffers are allocated once, not regrown).
  AnnotationColumns take();
  // Drops the rows from `rows` on.
  void truncate(size_t rows);
  // One row; a null pointer is a null value (`bbox`: four values).
  void add(const char* counts, size_t counts_len, int64_t h, int64_t w, const int64_t* ann_id,
           const int64_t* category_id, const double* stored_area, const double* stored_bbox,
           const char* extra, size_t extra_len);
};

// What the Python path takes from the file's image record.
struct ImageFacts {
  std::string record;  // the image object as orjson writes it
  bool has_id = false;
  int64_t id = 0;
};

class Sa1bReader {
 public:
  Sa1bReader();
  ~Sa1bReader();
  Sa1bReader(const Sa1bReader&) = delete;
  Sa1bReader& operator=(const Sa1bReader&) = delete;

  // Appends the rows of a clean SA-1B file to `out` and returns how many; returns -1 with
  // `out` as it was when the file is not clean (the Python path then reads it).
  long read(const char* data, size_t size, AnnotationColumns& out, ImageFacts& image);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A double as orjson writes it (the shortest digits that read back to it, fixed notation for
// decimal exponents from -5 to 15, else d.ddde+x or d.ddde-x). Appended to `out`; finite values only.
void append_json_double(std::string& out, double value);

}  // namespace turborle
