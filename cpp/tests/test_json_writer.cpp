#include <gtest/gtest.h>

#include <cmath>

#include "ltx2eff/json_writer.hpp"

namespace ltx2eff {
namespace {

TEST(JsonWriter, NestedValues) {
  JsonWriter j;
  j.begin_object();
  j.field("a", 1).field("b", "x\"y\n").field("c", true);
  j.key("d").begin_array();
  j.value(1.5).value(std::nan("")).null();
  j.begin_object().end_object();
  j.end_array();
  j.end_object();
  EXPECT_EQ(j.str(), R"({"a":1,"b":"x\"y\n","c":true,"d":[1.5,null,null,{}]})");
}

TEST(JsonWriter, EscapesControlCharacters) {
  EXPECT_EQ(json_escape(std::string("a\x01") + "b"), "a\\u0001b");
}

}  // namespace
}  // namespace ltx2eff
