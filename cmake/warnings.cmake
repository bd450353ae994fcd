# One place for warning flags; every target links cvmd_warnings.
add_library(cvmd_warnings INTERFACE)
target_compile_options(cvmd_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough)
if(CVMD_WERROR)
  target_compile_options(cvmd_warnings INTERFACE -Werror)
endif()
