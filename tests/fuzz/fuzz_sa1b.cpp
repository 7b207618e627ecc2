// Fuzzes the dataset import's SA-1B reader (sa1b_json.hpp): Sa1bReader::read on arbitrary
// bytes, appending to columns that already hold a row.
//
// Input: the bytes of a file. Properties: the reader never throws; a refused file leaves
// the columns exactly as they were; an accepted file adds at least one row, every column
// grows by the same number of rows, string offsets never decrease, every size is a valid
// [h, w] (h, w >= 0, h*w <= 2^62), the image record and every `extra` re-parse as JSON
// objects (simdjson, strictly), and each row's counts occur in the input (as is, or the input
// holds escapes); take() then moves every row out.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common.hpp"
#include "sa1b_json.hpp"
#include "json_simdjson.hpp"

namespace {

bool is_json_object(const std::string& text) {
  static simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element e;
  return !parser.parse(padded).get(e) && e.type() == simdjson::dom::element_type::OBJECT;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static turborle::Sa1bReader reader;
  turborle::AnnotationColumns cols;
  const char kCounts[] = "0`5";
  const int64_t one = 1;
  const double box[4] = {0, 0, 1, 1};
  cols.add(kCounts, 3, 1, 1, &one, nullptr, nullptr, box, "{}", 2);
  const std::string counts_before = cols.counts, extra_before = cols.extra;

  turborle::ImageFacts image;
  const long n = reader.read(reinterpret_cast<const char*>(data), size, cols, image);
  if (n < 0) {
    CHECK(n == -1);
    CHECK(cols.rows() == 1 && cols.counts == counts_before && cols.extra == extra_before);
    CHECK(cols.height.size() == 1 && cols.stored_bbox.size() == 4 && cols.has_extra.size() == 1);
    return 0;
  }
  const size_t rows = 1 + static_cast<size_t>(n);
  CHECK(n >= 1 && cols.rows() == rows);
  for (size_t size_of : {cols.has_mask.size(), cols.height.size(), cols.width.size(),
                         cols.ann_id.size(), cols.category_id.size(), cols.has_ann_id.size(),
                         cols.has_category_id.size(), cols.stored_area.size(),
                         cols.has_stored_area.size(), cols.has_stored_bbox.size(),
                         cols.extra_end.size(), cols.has_extra.size()}) {
    CHECK(size_of == rows);
  }
  CHECK(cols.stored_bbox.size() == 4 * rows);
  CHECK(cols.counts.compare(0, counts_before.size(), counts_before) == 0);
  CHECK(cols.extra.compare(0, extra_before.size(), extra_before) == 0);
  CHECK(is_json_object(image.record));
  const std::string input(reinterpret_cast<const char*>(data), size);
  const bool escapes = input.find('\\') != std::string::npos;
  for (size_t i = 1; i < rows; ++i) {
    CHECK(cols.has_mask[i]);
    const int64_t h = cols.height[i], w = cols.width[i];
    CHECK(h >= 0 && w >= 0 && static_cast<__int128>(h) * w <= (static_cast<__int128>(1) << 62));
    CHECK(cols.counts_end[i] >= cols.counts_end[i - 1] && cols.extra_end[i] >= cols.extra_end[i - 1]);
    const std::string counts = cols.counts.substr(
        cols.counts_end[i - 1], cols.counts_end[i] - cols.counts_end[i - 1]);
    CHECK(escapes || input.find('"' + counts + '"') != std::string::npos);
    if (cols.has_extra[i]) {
      CHECK(is_json_object(cols.extra.substr(cols.extra_end[i - 1],
                                             cols.extra_end[i] - cols.extra_end[i - 1])));
    } else {
      CHECK(cols.extra_end[i] == cols.extra_end[i - 1]);
    }
  }
  CHECK(static_cast<size_t>(cols.counts_end[rows - 1]) == cols.counts.size());
  CHECK(static_cast<size_t>(cols.extra_end[rows - 1]) == cols.extra.size());
  // take() moves every row out and leaves the columns empty.
  const std::string counts = cols.counts;
  const turborle::AnnotationColumns moved = cols.take();
  CHECK(moved.rows() == rows && moved.counts == counts && moved.stored_bbox.size() == 4 * rows);
  CHECK(cols.rows() == 0 && cols.counts.empty() && cols.has_extra.empty());
  return 0;
}
