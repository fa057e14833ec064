# SPDX-License-Identifier: MIT
# Ruby: module Chord (lib/chord.rb) over the SWIG extension chord_native. Every
# wrapped call runs without the GVL (see ruby_typemaps.i); events come from the
# queue's fd on a Ruby thread, never from libchord's loop thread.
find_package(Ruby 2.7)
if(NOT Ruby_FOUND)
  message(WARNING "bindings: Ruby development files not found, no Ruby binding")
  return()
endif()

set(CHORD_RB_ROOT ${CMAKE_CURRENT_BINARY_DIR}/ruby)
chordb_swig(ruby ${CHORD_RB_ROOT} ${CHORD_RB_ROOT}/chord_ruby_wrap.cxx ${CHORD_RB_ROOT}/swig.stamp
            -module chord_native)
add_library(chord_ruby MODULE ${CHORD_RB_ROOT}/chord_ruby_wrap.cxx)
target_include_directories(chord_ruby PRIVATE ${Ruby_INCLUDE_DIRS})
target_link_libraries(chord_ruby PRIVATE chordb)
# Ruby's own headers use deprecated ANYARGS forms in C++ and trip -Wextra.
target_compile_options(chord_ruby PRIVATE ${CHORDB_WRAP_FLAGS} -Wno-register
                                          -Wno-unused-variable -Wno-sign-compare)
set_target_properties(chord_ruby PROPERTIES PREFIX "" OUTPUT_NAME chord_native SUFFIX .so
                                            LIBRARY_OUTPUT_DIRECTORY ${CHORD_RB_ROOT})

set(CHORD_RB_RUN ${Ruby_EXECUTABLE} -I${CHORD_RB_ROOT} -I${CMAKE_CURRENT_SOURCE_DIR}/ruby/lib)
add_test(NAME bindings_ruby
         COMMAND ${CHORD_RB_RUN} ${CMAKE_CURRENT_SOURCE_DIR}/ruby/test/test_chord.rb)
add_test(NAME bindings_ruby_example
         COMMAND ${CHORD_RB_RUN} ${CMAKE_CURRENT_SOURCE_DIR}/ruby/example.rb)
set_tests_properties(bindings_ruby bindings_ruby_example PROPERTIES
  LABELS "bindings;ruby" TIMEOUT ${CHORD_BINDINGS_TEST_TIMEOUT})
