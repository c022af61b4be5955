#ifndef CAFE_CSODIUM_SHIM_H
#define CAFE_CSODIUM_SHIM_H
#include <sodium.h>
#endif
