#include "common/err.h"

#include <stdio.h>

const char *fo_strerror(int code)
{
    switch (code) {
#define FO_ERR_TEXT(name, value, text) \
    case value: return text;
        FO_ERRORS(FO_ERR_TEXT)
#undef FO_ERR_TEXT
    }
    return "unknown error";
}

const char *fo_errname(int code)
{
    switch (code) {
#define FO_ERR_NAME(name, value, text) \
    case value: return #name;
        FO_ERRORS(FO_ERR_NAME)
#undef FO_ERR_NAME
    }
    return "FO_E?";
}

int fo_errf(char *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        va_start(ap, fmt);
        vsnprintf(err, FO_ERRLEN, fmt, ap);
        va_end(ap);
    }
    return code;
}
