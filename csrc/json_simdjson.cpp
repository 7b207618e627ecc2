// simdjson's implementation, compiled with the configuration of json_simdjson.hpp.
#include "json_simdjson.hpp"
#include "third_party/simdjson/simdjson.cpp"
