# SPDX-License-Identifier: MIT
# Builds the API reference and fails on any warning: the chord_api_docs target
# and the api_docs test both run it (docs/CMakeLists.txt).
#
#   cmake -DDOXYGEN=doxygen -DDOXYFILE=<build>/docs/Doxyfile
#         -DINCLUDE=<source>/include -DOUT=<build>/docs/api/html -P docs/run_doxygen.cmake
#
# OUT is removed first, so that no page of a symbol that is gone stays behind.
# Doxygen exits non-zero on a warning (WARN_AS_ERROR = FAIL_ON_WARNINGS); with
# QUIET it writes nothing else to stderr, so anything there fails the run too.
foreach(var DOXYGEN DOXYFILE INCLUDE OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_doxygen.cmake: -D${var}=... is missing")
  endif()
endforeach()
string(CONCAT hint "every public symbol, parameter and return value needs a doc comment "
                  "(docs/conventions.md, \"API documentation\")")

file(REMOVE_RECURSE "${OUT}")
execute_process(COMMAND "${DOXYGEN}" "${DOXYFILE}" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT err STREQUAL "")
  message(NOTICE "${err}")  # as doxygen wrote it, one warning a line
  message(FATAL_ERROR "doxygen exited ${rc}: ${hint}")
endif()

# Without a @file block Doxygen documents none of a header's functions, macros
# and typedefs, and so warns about none of them: each header needs its page.
file(GLOB_RECURSE headers RELATIVE "${INCLUDE}" "${INCLUDE}/*.h")
foreach(h ${headers})
  get_filename_component(name "${h}" NAME)
  string(REPLACE "_" "__" page "${name}")  # Doxygen's page name: chord.h -> chord_8h
  string(REPLACE "." "_8" page "${page}")
  if(NOT EXISTS "${OUT}/${page}.html")
    message(FATAL_ERROR "include/${h} has no @file block, so Doxygen checked none of its "
                        "functions, macros and typedefs (no ${page}.html): ${hint}")
  endif()
endforeach()
message(STATUS "API reference: ${OUT}/index.html")
