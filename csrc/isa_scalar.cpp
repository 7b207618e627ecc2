// The scalar kernels: the reference every other instruction set is tested against.
//
// Headers every isa_*.cpp includes before its target region (isa_kernels.hpp relies on them):
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "portable.hpp"
#include "runs.hpp"
#include "simd.hpp"

#include "isa_kernels.hpp"

namespace turborle {

extern const Kernels kScalarKernels = {
    find_byte_scalar,       row_changes_scalar,       unpack_row_scalar,
    string_values<SwarStrings>, string_parse<SwarStrings>, string_measure<SwarStrings>,
    string_length_scalar, write_string_scalar, and_count_scalar, counts_box,
    nullptr,
};

}  // namespace turborle
