# SPDX-License-Identifier: MIT
# Python: package `chord` = chord/__init__.py (the ChordSocket API) over the SWIG
# module chord.chord_native (+ _chord_native.so). SWIG runs with -threads, so every
# wrapped call releases the GIL while it blocks.
# The tests need pytest. Unless told which interpreter to use, take the first
# python3 that has it: on PATH there may be one without (a pyenv build), while the
# system's /usr/bin/python3 has python3-pytest.
if(NOT Python3_EXECUTABLE)
  find_program(CHORD_PY_ON_PATH NAMES python3)
  foreach(candidate ${CHORD_PY_ON_PATH} /usr/bin/python3)
    if(EXISTS ${candidate})
      execute_process(COMMAND ${candidate} -c "import pytest" RESULT_VARIABLE rc
                      OUTPUT_QUIET ERROR_QUIET)
      if(rc EQUAL 0)
        set(Python3_EXECUTABLE ${candidate} CACHE FILEPATH "Python for the bindings" FORCE)
        break()
      endif()
    endif()
  endforeach()
endif()
find_package(Python3 COMPONENTS Interpreter Development.Module)
if(NOT Python3_FOUND)
  message(WARNING "bindings: Python 3 development files not found, no Python binding")
  return()
endif()

set(CHORD_PY_ROOT ${CMAKE_CURRENT_BINARY_DIR}/python)
set(CHORD_PY_PKG ${CHORD_PY_ROOT}/chord)
chordb_swig(python ${CHORD_PY_PKG} ${CHORD_PY_ROOT}/chord_python_wrap.cxx
            ${CHORD_PY_ROOT}/swig.stamp -threads -module chord_native)
add_custom_command(
  OUTPUT ${CHORD_PY_PKG}/__init__.py
  COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_CURRENT_SOURCE_DIR}/python/chord/__init__.py
          ${CHORD_PY_PKG}/__init__.py
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/python/chord/__init__.py ${CHORD_PY_ROOT}/swig.stamp
  VERBATIM)
add_custom_command(
  OUTPUT ${CHORD_PY_ROOT}/example.py
  COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_CURRENT_SOURCE_DIR}/python/example.py
          ${CHORD_PY_ROOT}/example.py
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/python/example.py
  VERBATIM)
# The example runs from the build tree, beside the built package (not the sources').
add_custom_target(chord_python_files ALL
                  DEPENDS ${CHORD_PY_PKG}/__init__.py ${CHORD_PY_ROOT}/example.py)

Python3_add_library(chord_python MODULE WITH_SOABI ${CHORD_PY_ROOT}/chord_python_wrap.cxx)
set_target_properties(chord_python PROPERTIES OUTPUT_NAME _chord_native
                                              LIBRARY_OUTPUT_DIRECTORY ${CHORD_PY_PKG})
target_link_libraries(chord_python PRIVATE chordb)
target_compile_options(chord_python PRIVATE ${CHORDB_WRAP_FLAGS})
add_dependencies(chord_python chord_python_files)

set(CHORD_PY_ENV "PYTHONPATH=${CHORD_PY_ROOT}" "PYTHONDONTWRITEBYTECODE=1")
add_test(NAME bindings_python
         COMMAND ${Python3_EXECUTABLE} -m pytest -q -p no:cacheprovider
                 ${CMAKE_CURRENT_SOURCE_DIR}/python/tests)
add_test(NAME bindings_python_example
         COMMAND ${Python3_EXECUTABLE} ${CHORD_PY_ROOT}/example.py)
set_tests_properties(bindings_python bindings_python_example PROPERTIES
  LABELS "bindings;python" ENVIRONMENT "${CHORD_PY_ENV}"
  TIMEOUT ${CHORD_BINDINGS_TEST_TIMEOUT})
