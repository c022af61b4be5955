#ifndef CAFE_CLIBYAML_SHIM_H
#define CAFE_CLIBYAML_SHIM_H
#include <yaml.h>
#endif
