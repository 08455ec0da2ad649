// The charting library inlined into HTML reports: dygraphs, from Debian's
// libjs-dygraphs (/usr/share/javascript/dygraphs), read by CMake at build
// time into a generated source (chart_library.cpp.in), so that a report is
// one self-contained file that needs no network.
//
// Contract: constant data, any thread. Neither text contains "</script" or
// "</style" (CMake refuses to build otherwise), so both can sit inside
// their element as they are.
#pragma once

namespace hk::analyze {

extern const char kDygraphsJs[];
extern const char kDygraphsCss[];
extern const char kDygraphsVersion[];

}  // namespace hk::analyze
